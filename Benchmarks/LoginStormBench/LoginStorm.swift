import BenchSupport
import DeskpoolCore
import DeskpoolStore
import Foundation
import PAM

/// The whole run, in one process: the PAM floor, the storm through the broker's HTTP API, the
/// floor again; then the report. With `--replicas N`: the storm through one broker on
/// PostgreSQL, then through N replicas on another PostgreSQL database (users spread over
/// their addresses), each with a warm pool of its own.
struct LoginStorm {
    let options: StormOptions

    func run() async throws {
        let users = try StormUser.load(options.usersFile)
        guard !users.isEmpty else { throw BenchFailure("no users in \(options.usersFile)") }
        let concurrency = options.concurrency > 0 ? options.concurrency : users.count
        let pam = PAMAuthenticator.Configuration(service: options.service, maxConcurrent: options.maxConcurrentLogins,
                                                 timeout: .seconds(options.loginTimeoutSeconds))
        let floor = PAMFloor(users: users, configuration: pam, concurrency: concurrency)
        let options = self.options

        if options.replicas > 0 {
            try await runReplicas(users: users, concurrency: concurrency, pam: pam, floor: floor)
            return
        }
        let host = try await StormBroker.makeHost(options)
        let broker = try await StormBroker.make(options, host: host)
        let result = try await broker.running { port in
            try await broker.warmPool(desktops: users.count + options.spare, group: options.group, templateDirectory: options.templateDirectory)
            try await Self.warmUp(broker, users: users, pam: pam)
            progress("floor 1: \(users.count) bare PAM authentications, concurrency \(concurrency), \(options.maxConcurrentLogins) PAM threads")
            let before = await floor.run("PAM floor, before")
            progress("storm: \(users.count) users log in and ask for a desktop over HTTP, concurrency \(concurrency)")
            let storm = try await Self.storm(users: users, concurrency: concurrency, brokers: [broker], ports: [port], label: "storm (HTTP)")
            progress("floor 2")
            let after = await floor.run("PAM floor, after")
            return StormReport(users: users.count, concurrency: concurrency, options: options, floors: [before, after], storm: storm.figures,
                               phases: storm.phases, pamInStorm: storm.pam, tickets: storm.tickets, held: storm.held)
        }
        await host.close()
        result.print()
    }

    /// Warm-up outside the clock: each stand-in display's live XML (read once per run), PAM's
    /// modules and the shadow file (one authentication).
    static func warmUp(_ broker: StormBroker, users: [StormUser], pam: PAMAuthenticator.Configuration) async throws {
        if let console = broker.hypervisor.console {
            for name in broker.hypervisor.standIns {
                _ = try await console.setConsolePassword(.mint(), validUntil: Date().addingTimeInterval(30), disconnectClients: true, onDesktop: name)
            }
        }
        _ = try await PAMAuthenticator(configuration: pam).authenticate(user: users[0].name, password: users[0].password)
    }

    struct Storm {
        var figures: RunFigures
        var phases: StormClients.Phases
        var pam: [Double]
        var tickets: (count: Int, mean: Double, max: Double)
        var held: (desktops: Int, users: Int)
    }

    /// One storm through `ports` (the brokers' HTTP servers); PAM times and tickets summed over
    /// the brokers.
    static func storm(users: [StormUser], concurrency: Int, brokers: [StormBroker], ports: [Int], label: String) async throws -> Storm {
        for broker in brokers { broker.authenticator.reset() }
        brokers[0].hypervisor.resetTickets()
        let (figures, phases) = try await StormClients(users: users, concurrency: concurrency, ports: ports, pool: StormBroker.pool).run(label)
        return Storm(figures: figures, phases: phases, pam: brokers.flatMap(\.authenticator.durations), tickets: brokers[0].hypervisor.tickets,
                     held: try await brokers[0].assignments())
    }

    /// The storm through one broker on PostgreSQL, then through `options.replicas` replicas on
    /// another database; the floor before and after.
    private func runReplicas(users: [StormUser], concurrency: Int, pam: PAMAuthenticator.Configuration, floor: PAMFloor) async throws {
        let options = self.options
        let password = try String(contentsOfFile: options.passwordFile, encoding: .utf8).split(separator: "\n").first.map(String.init)
        let singleSettings = try PostgresStore.Settings.parse(url: options.singleStore, password: password)
        let replicaSettings = try PostgresStore.Settings.parse(url: options.replicaStore, password: password)

        let singleHost = try await StormBroker.makeHost(options, name: "storm-single")
        let singleStore = try await PostgresStore(singleSettings)
        let single = try await StormBroker.make(options, store: singleStore, host: singleHost)
        progress("floor 1: \(users.count) bare PAM authentications, concurrency \(concurrency), \(options.maxConcurrentLogins) PAM threads")
        let before = await floor.run("PAM floor, before")
        let one = try await single.running { port in
            try await single.warmPool(desktops: users.count + options.spare, group: options.group, templateDirectory: options.templateDirectory)
            try await Self.warmUp(single, users: users, pam: pam)
            progress("storm through 1 broker on PostgreSQL: \(users.count) users, concurrency \(concurrency)")
            return try await Self.storm(users: users, concurrency: concurrency, brokers: [single], ports: [port], label: "storm, 1 broker")
        }
        singleStore.close()
        await singleHost.close()

        let replicaHost = try await StormBroker.makeHost(options, name: "storm-replicas")
        var stores: [PostgresStore] = []
        var made: [StormBroker] = []
        for n in 1...options.replicas {
            let store = try await PostgresStore(replicaSettings)
            stores.append(store)
            made.append(try await StormBroker.make(options, store: store, host: replicaHost,
                                                   leases: LeaseService.Options(replica: "r\(n)", duration: .seconds(5))))
        }
        let replicas = made
        let many = try await Self.runningAll(replicas, ports: []) { ports in
            try await replicas[0].warmPool(desktops: users.count + options.spare, group: options.group, templateDirectory: options.templateDirectory)
            try await Self.warmUp(replicas[0], users: users, pam: pam)
            progress("storm through \(replicas.count) replicas on PostgreSQL: \(users.count) users, concurrency \(concurrency)")
            return try await Self.storm(users: users, concurrency: concurrency, brokers: replicas, ports: ports,
                                        label: "storm, \(replicas.count) replicas")
        }
        for store in stores { store.close() }
        await replicaHost.close()
        progress("floor 2")
        let after = await floor.run("PAM floor, after")
        ReplicaStormReport(users: users.count, concurrency: concurrency, replicas: options.replicas, options: options,
                           floors: [before, after], single: one, many: many).print()
    }

    /// Runs every broker (each with its HTTP server) while `body` runs with their ports.
    static func runningAll<T: Sendable>(_ brokers: [StormBroker], ports: [Int], _ body: @escaping @Sendable ([Int]) async throws -> T) async throws -> T {
        guard let first = brokers.first else { return try await body(ports) }
        return try await first.running { port in
            try await runningAll(Array(brokers.dropFirst()), ports: ports + [port], body)
        }
    }
}
