// Placeholder: the broker benchmarks (refill rate, scale) land here.
print("BrokerBench: not written yet")
