print("LoginStormBench: not written yet")
