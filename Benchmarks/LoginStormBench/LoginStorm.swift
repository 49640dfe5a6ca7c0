import BenchSupport
import DeskpoolCore
import Foundation
import PAM

/// The whole run, in one process: the PAM floor, the storm through the broker's HTTP API, the
/// floor again; then the report.
struct LoginStorm {
    let options: StormOptions

    func run() async throws {
        let users = try StormUser.load(options.usersFile)
        guard !users.isEmpty else { throw BenchFailure("no users in \(options.usersFile)") }
        let concurrency = options.concurrency > 0 ? options.concurrency : users.count
        let pam = PAMAuthenticator.Configuration(service: options.service, maxConcurrent: options.maxConcurrentLogins,
                                                 timeout: .seconds(options.loginTimeoutSeconds))
        let floor = PAMFloor(users: users, configuration: pam, concurrency: concurrency)

        let broker = try await StormBroker.make(options)
        let options = self.options
        let result = try await broker.running { port in
            try await broker.warmPool(desktops: users.count + options.spare, group: options.group, templateDirectory: options.templateDirectory)
            // Warm-up outside the clock: each stand-in display's live XML (read once per run),
            // PAM's modules and the shadow file (one authentication).
            if let console = broker.hypervisor.console {
                for name in broker.hypervisor.standIns {
                    _ = try await console.setConsolePassword(.mint(), validUntil: Date().addingTimeInterval(30), disconnectClients: true, onDesktop: name)
                }
            }
            _ = try await PAMAuthenticator(configuration: pam).authenticate(user: users[0].name, password: users[0].password)

            progress("floor 1: \(users.count) bare PAM authentications, concurrency \(concurrency), \(options.maxConcurrentLogins) PAM threads")
            let before = await floor.run("PAM floor, before")
            progress("storm: \(users.count) users log in and ask for a desktop over HTTP, concurrency \(concurrency)")
            broker.authenticator.reset()
            broker.hypervisor.resetTickets()
            let (storm, phases) = try await StormClients(users: users, concurrency: concurrency, port: port, pool: StormBroker.pool).run("storm (HTTP)")
            let pamInStorm = broker.authenticator.durations
            let tickets = broker.hypervisor.tickets
            let held = try await broker.assignments()
            progress("floor 2")
            let after = await floor.run("PAM floor, after")
            return StormReport(users: users.count, concurrency: concurrency, options: options, floors: [before, after], storm: storm,
                               phases: phases, pamInStorm: pamInStorm, tickets: tickets, held: held)
        }
        await broker.close()
        result.print()
    }
}
