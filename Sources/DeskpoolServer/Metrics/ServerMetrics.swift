import DeskpoolCore
public import Prometheus

/// The broker's Prometheus metrics. Counters and histograms live in `registry` (which
/// `deskpool serve` also gives swift-metrics, for the reconciler's counters); what is a
/// snapshot of state (desktops by state, gateway tunnels) is computed at each scrape by
/// `MetricsRoutes`, so a deleted pool leaves no stale series.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let timeToDesktop: DurationHistogram
    let pamDuration: DurationHistogram
    let loginsOK: Counter
    let loginChallenges: Counter
    let loginFailures: [String: Counter]
    let desktopRequests: [String: Counter]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let seconds: [Duration] = [.milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                   .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300)]
        timeToDesktop = registry.makeDurationHistogram(
            descriptor: .init(metricName: "deskpool_time_to_desktop", unitName: "seconds",
                              helpText: "From a user's desktop request to the .vv file (preparing included)"),
            buckets: seconds)
        pamDuration = registry.makeDurationHistogram(
            descriptor: .init(metricName: "deskpool_pam_duration", unitName: "seconds", helpText: "PAM authentication and account check"),
            buckets: [.milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                      .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)])
        let logins = MetricNameDescriptor(metricName: "deskpool_logins", unitName: "total", helpText: "Logins by result (ok, or the failure's code)")
        loginsOK = registry.makeCounter(descriptor: logins, labels: [("result", "ok")])
        var failures: [String: Counter] = [:]
        loginChallenges = registry.makeCounter(descriptor: .init(metricName: "deskpool_login_challenges", unitName: "total",
                                                                 helpText: "Login steps that asked the user more (a code, a new password)"))
        for reason in ["unauthenticated", "accountUnusable", "throttled", "unavailable", "invalidInput", "challengeExpired"] {
            failures[reason] = registry.makeCounter(descriptor: logins, labels: [("result", reason)])
        }
        loginFailures = failures
        var requests: [String: Counter] = [:]
        let desktopRequests = MetricNameDescriptor(metricName: "deskpool_desktop_requests", unitName: "total", helpText: "Desktop requests by answer")
        for answer in ["assigned", "preparing", "exhausted", "refused"] {
            requests[answer] = registry.makeCounter(descriptor: desktopRequests, labels: [("answer", answer)])
        }
        self.desktopRequests = requests
    }

    /// The time to desktop of one pool (`deskpool_pool_time_to_desktop_seconds{pool=...}`): the
    /// series is made at the pool's first desktop handed out by this broker. (Pool names are
    /// bounded: admins make pools.)
    func timeToDesktop(pool: String) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: .init(metricName: "deskpool_pool_time_to_desktop", unitName: "seconds",
                              helpText: "From a user's desktop request to the console handed out (preparing included), per pool"),
            labels: [("pool", pool)], buckets: Self.timeToDesktopBuckets)
    }

    static let timeToDesktopBuckets: [Duration] = [.milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                                   .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300)]

    func loginFailed(_ code: DeskpoolError.Code) {
        (loginFailures[code.name] ?? loginFailures["unavailable"])?.increment()
    }
}
