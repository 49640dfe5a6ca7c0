import Foundation
import PAM

/// The floor: bare PAM authentications of the storm's users through `PAMAuthenticator`
/// (dedicated threads, the same service, bound and timeout as the broker's), at the storm's
/// concurrency. No HTTP, no broker: what PAM itself costs.
struct PAMFloor {
    let users: [StormUser]
    let configuration: PAMAuthenticator.Configuration
    let concurrency: Int

    func run(_ label: String) async -> RunFigures {
        // A fresh authenticator per run, as the broker has its own.
        let authenticator = PAMAuthenticator(configuration: configuration)
        let users = self.users
        return await RunFigures.measure(label, count: users.count, concurrency: concurrency) { i in
            do throws(PAMError) {
                let account = try await authenticator.authenticate(user: users[i].name, password: users[i].password, remoteHost: "127.0.0.1")
                return account.user == users[i].name ? nil : "PAM answered for \(account.user), not \(users[i].name)"
            } catch {
                return "\(users[i].name): \(error)"
            }
        }
    }
}
