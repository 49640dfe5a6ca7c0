import ArgumentParser
import DeskpoolClient
import DeskpoolCore
import Foundation

/// `deskpool connect POOL`: for users and thin clients, from login to remote-viewer.
struct ConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect",
        abstract: "Get a desktop of a pool and open it in remote-viewer.",
        discussion: """
            Uses the saved login (deskpool login) when it is for this server and user; otherwise logs in \
            (the password is asked for without echo, or read with --password-stdin, and so is whatever else \
            the broker's PAM stack asks: a one-time code, a new password) and logs out again once the \
            desktop is handed over. A pool that asks for a further login (its factor) has its prompts \
            asked the same way first. While the broker prepares a desktop, shows progress on standard \
            error and asks again every 2 s at most. Then writes the .vv file (a one-time console password) \
            to a private temporary file and runs the viewer on it, waiting for it: the exit status is the \
            viewer's. A pool without a desktop for you (exhausted), a pool you may not use (notEntitled) and \
            every other error exit 1.
            """
    )

    @Argument(help: "The pool's name.") var pool: String
    @Option(help: ArgumentHelp("The broker's URL (default: the saved login's, else \(ClientSettings.defaultServer)).", valueName: "url"))
    var server: String?
    @Option(help: "Log in as this user unless the saved login is theirs (default: the saved login's user).") var user: String?
    @Flag(help: "Read the password from the first line of standard input.") var passwordStdin = false
    @Option(help: ArgumentHelp("A session token to use instead of a login (default: $DESKPOOL_TOKEN).", valueName: "token"))
    var token: String?
    @Flag(help: "Full screen, and quit when the desktop disconnects (remote-viewer --kiosk --kiosk-quit=on-disconnect).") var kiosk = false
    @Option(help: ArgumentHelp("The viewer program.", valueName: "path"), completion: .file()) var viewer = "remote-viewer"
    @Option(help: ArgumentHelp("Seconds to wait for a desktop being prepared.", valueName: "seconds")) var timeout = 600
    @Flag(name: .customLong("print"), help: "Write the .vv file to standard output instead of running the viewer.") var printFile = false
    @Flag(help: "Ask for one more desktop besides the one you hold (up to the pool's limit per user).") var another = false

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        if passwordStdin && token != nil { throw ValidationError("give --password-stdin or --token, not both") }
    }

    func run() async throws {
        var status: Int32 = 0
        try await reportingErrors {
            status = try await connect()
        }
        if status != 0 { throw ExitCode(status) }
    }

    private func connect() async throws -> Int32 {
        let saved = try ClientSettings.load()
        let server = try APIClient.normalize(server: self.server ?? saved?.server ?? ClientSettings.defaultServer)
        var api = try APIClient(server: server)
        var loggedInHere = false
        let savedLogin = saved.flatMap { $0.server == server && (user == nil || user == $0.user) ? $0 : nil }
        if let token = token ?? ProcessInfo.processInfo.environment["DESKPOOL_TOKEN"].flatMap({ $0.isEmpty ? nil : $0 }) {
            api.token = token
        } else if let token = savedLogin?.token {
            api.token = token
        } else {
            api = try await logIn(api, user: user ?? savedLogin?.user)
            loggedInHere = true
        }

        let answer: DesktopAnswer
        do {
            answer = try await requestDesktop(api)
        } catch let error as ClientError where error.code == "unauthenticated" && !loggedInHere && token == nil && savedLogin != nil {
            writeError("the saved login for \(server) has ended; logging in again\n")
            api.token = nil
            api = try await logIn(api, user: user ?? savedLogin?.user)
            loggedInHere = true
            answer = try await requestDesktop(api)
        }
        let (vv, desktopID) = try await waitForDesktop(answer, api: api)
        if loggedInHere { try? await api.logout() }

        if printFile {
            writeOutput(Data(vv.utf8))
            return 0
        }
        let file = try Viewer.writePrivateFile(vv)
        defer { unlink(file) }
        writeError("desktop \(desktopID): starting \(viewer)\n")
        return try Viewer(program: viewer, kiosk: kiosk).run(file: file)
    }

    private func logIn(_ api: APIClient, user: String?) async throws -> APIClient {
        guard let user = user ?? ProcessInfo.processInfo.environment["USER"], !user.isEmpty else {
            throw CLIError("not logged in to \(api.server)", hint: "give --user NAME, or run deskpool login first")
        }
        let password = try Password.obtain(fromStdin: passwordStdin, user: user, server: api.server)
        return api.loggedIn(as: try await LoginCommand.logIn(api, user: user, password: password, prompts: LoginPrompts(fromStdin: passwordStdin)))
    }

    /// The first request; a 429 (too many requests) is waited out once, and a pool's further
    /// factor is asked for once.
    private func requestDesktop(_ api: APIClient) async throws -> DesktopAnswer {
        do {
            return try await requestOnce(api)
        } catch let error as ClientError where error.code == "factorRequired" {
            writeError("pool \(pool) asks for a further login\n")
            _ = try await LoginPrompts(fromStdin: passwordStdin).complete(try await api.beginFactor(pool: pool), api: api)
            return try await requestOnce(api)
        }
    }

    private func requestOnce(_ api: APIClient) async throws -> DesktopAnswer {
        do {
            return try await api.requestDesktop(pool: pool, another: another)
        } catch let error as ClientError where error.code == "throttled" {
            try await Task.sleep(for: .seconds(error.retryAfterSeconds ?? 2))
            return try await api.requestDesktop(pool: pool, another: another)
        }
    }

    /// Polls while the broker prepares the desktop, showing progress, until the `.vv` comes.
    private func waitForDesktop(_ first: DesktopAnswer, api: APIClient) async throws -> (vv: String, desktopID: String) {
        let progress = ProgressLine()
        defer { progress.finish() }
        let start = ContinuousClock.now
        var answer = first
        while true {
            switch answer {
            case .file(let vv, let desktopID):
                return (vv, desktopID)
            case .preparing(let preparing, let retryAfter):
                let elapsed = Int((ContinuousClock.now - start).components.seconds)
                progress.show(PreparingProgress.line(preparing, elapsedSeconds: elapsed))
                guard elapsed < timeout else {
                    throw CLIError("no desktop of pool \(pool) within \(timeout) s: \(preparing.desktop.name) is still \(preparing.desktop.state.rawValue)",
                                   hint: "try again later, or raise --timeout")
                }
                try await Task.sleep(for: PreparingProgress.pollDelay(retryAfterSeconds: retryAfter, estimateSeconds: preparing.estimateSeconds))
                do {
                    answer = try await api.pollDesktop(preparing)
                } catch let error as ClientError where error.code == "throttled" {
                    try await Task.sleep(for: .seconds(error.retryAfterSeconds ?? 2))
                }
            }
        }
    }
}
