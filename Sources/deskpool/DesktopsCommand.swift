import ArgumentParser
import DeskpoolCore
import Foundation

/// `deskpool desktops`: every desktop with its state, host, version and user.
struct DesktopsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "desktops", abstract: "List desktops and their states.")
    @OptionGroup var options: ConfigOptions
    @Option(help: "Only this pool.") var pool: String?
    @Flag(help: "One JSON object per line.") var json = false

    func run() async throws {
        let context = try await BrokerContext.open(options, connect: false)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        for d in try await context.store.desktops(pool: pool) {
            if json {
                print(String(decoding: try encoder.encode(d), as: UTF8.self))
            } else {
                print([d.name, d.pool, d.host, "\(d.template)@\(d.version)", d.state.rawValue, d.user ?? "-", d.reason ?? "", d.id].joined(separator: "\t"))
            }
        }
    }
}

/// `deskpool request` and `deskpool logoff`: the session flow without HTTP, for tests and
/// admins (the portal and API come with the HTTP server).
struct RequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "request", abstract: "Ask for a desktop of a pool on behalf of a user.")
    @OptionGroup var options: ConfigOptions
    @Option(help: "The user.") var user: String
    @Option(help: "A group of the user (repeatable).") var group: [String] = []
    @Option(help: "The pool.") var pool: String
    @Flag(help: "Another desktop besides the one the user holds (up to the pool's maxPerUser).") var another = false

    func run() async throws {
        let context = try await BrokerContext.open(options)
        let broker = context.sessions(consoles: try context.consoles(), placement: { pool in
            // The running broker places its own desktops; here, the first allowed host with room.
            for hypervisor in context.hypervisors where pool.hosts.isEmpty || pool.hosts.contains(hypervisor.host) {
                if (try? await hypervisor.capacity()) != nil { return hypervisor.host }
            }
            return nil
        })
        switch try await broker.request(.init(user: user, groups: group), pool: pool, another: another) {
        case .assigned(let d): print("assigned \(d.name) \(d.id)")
        case .preparing(let d, let seconds): print("preparing \(d.name) \(d.id) ~\(seconds)s")
        case .exhausted:
            print("exhausted")
            throw ExitCode(3)
        }
    }
}

struct LogoffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logoff", abstract: "End the session on a desktop with its pool's logoff action (floating: refresh; dedicated: keep, or refresh).")
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The desktop id.") var desktop: String

    func run() async throws {
        let context = try await BrokerContext.open(options)
        let broker = context.sessions(consoles: try context.consoles(), placement: { _ in nil })
        let d = try await broker.logoff(desktop: desktop, by: adminActor())
        print("\(d.name) \(d.state.rawValue)")
    }
}

/// `deskpool console`: a fresh console ticket and the `.vv` file for a user's desktop (what
/// the portal's Connect button will return).
struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console", abstract: "Issue a console ticket for a user's desktop and write its .vv file.",
        discussion: "The file holds a one-time password valid for the pool's console.ticketSeconds; remote-viewer deletes it after reading. Without --output it goes to standard output.")
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The desktop id.") var desktop: String
    @Option(help: "The user who holds the desktop.") var user: String
    @Option(help: "The client's IP address (picks the gateway address it can reach).") var client: String?
    @Option(help: "Write the .vv file here (mode 0600) instead of standard output.") var output: String?

    func run() async throws {
        let context = try await BrokerContext.open(options)
        let grant = try await context.consoles().open(desktop: desktop, for: user, clientAddress: client)
        guard let output else {
            print(grant.file.text, terminator: "")
            return
        }
        guard FileManager.default.createFile(atPath: output, contents: Data(grant.file.text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(output)")
        }
        FileHandle.standardError.write(Data("\(grant.desktop.name): ticket valid until \(ISO8601DateFormatter().string(from: grant.expires))\n".utf8))
    }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Show the audit log, newest first.")
    @OptionGroup var options: ConfigOptions
    @Option(help: "Only this subject, e.g. desktop/eng-001 or pool/eng.") var subject: String?
    @Option(help: "At most this many entries.") var limit = 50

    func run() async throws {
        let context = try await BrokerContext.open(options, connect: false)
        for e in try await context.store.auditLog(subject: subject, limit: limit) {
            print([ISO8601DateFormatter().string(from: e.at), e.actor, e.action, e.subject, e.result, e.detail].joined(separator: "\t"))
        }
    }
}
