import ArgumentParser
import DeskpoolClient
import DeskpoolCore
import Foundation

/// `deskpool policy ...`: bulk policies and their rollouts through the broker's API.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Validate, plan and apply policy files; follow, pause, resume, cancel and roll back rollouts (admin).",
        discussion: "Policy files are the YAML files of docs/policies.md (examples in policies/).",
        subcommands: [Validate.self, Plan.self, Apply.self, Status.self, Pause.self, Resume.self, Cancel.self, Rollback.self]
    )
}

extension PolicyCommand {
    /// A policy file's text, for the API.
    static func source(_ path: String) throws -> PolicySource {
        do {
            return PolicySource(source: try String(contentsOfFile: path, encoding: .utf8), file: URL(fileURLWithPath: path).lastPathComponent)
        } catch {
            throw CLIError("cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// The plan as a table: one line per desktop.
    static func table(_ plan: PolicyPlan) -> TextTable {
        var table = TextTable([.init("DESKTOP"), .init("POOL"), .init("WAVE", .right), .init("STATE"), .init("CHANGE"), .init("HOW"), .init("USER IMPACT")])
        for change in plan.desktops {
            table.append([
                change.desktop, change.pool, change.wave.map { String($0 + 1) } ?? "-", change.state.rawValue,
                change.skipped.map { "skipped: \($0.description)" } ?? change.changes.joined(separator: "; "), change.method.rawValue, change.impact,
            ])
        }
        return table
    }

    static func itemsTable(_ view: RolloutView) -> TextTable {
        var table = TextTable([.init("DESKTOP"), .init("POOL"), .init("WAVE", .right), .init("STATUS"), .init("FROM"), .init("TO"), .init("USER"), .init("DETAIL")])
        for item in view.items {
            table.append([item.desktop, item.pool, String(item.wave + 1), item.status.rawValue, item.from, item.to, Display.text(item.user), Display.text(item.detail)])
        }
        return table
    }

    /// `rollout 1a2b...: UpdatePolicy eng-v2 running, wave 2/3; 3 done, 1 waiting of 6`.
    static func summary(_ view: RolloutView) -> String {
        let rollout = view.rollout
        let counts = RolloutItem.Status.allCases.compactMap { status -> String? in
            let n = view.counts[status.rawValue] ?? 0
            return n > 0 ? "\(n) \(status.rawValue)" : nil
        }
        var line = "rollout \(rollout.id): \(rollout.kind.rawValue) \(rollout.policy) \(rollout.state.rawValue)"
        if rollout.waves > 0 { line += ", wave \(min(rollout.wave + 1, rollout.waves))/\(rollout.waves)" }
        line += "; " + (counts.isEmpty ? "no desktops" : counts.joined(separator: ", ")) + " of \(view.items.count)"
        if let reason = rollout.reason { line += " (\(reason))" }
        return line
    }

    /// Polls a rollout until it is over, showing a progress bar.
    static func follow(_ id: String, api: APIClient, timeout: Int) async throws -> RolloutView {
        let progress = ProgressLine()
        let deadline = ContinuousClock.now + .seconds(timeout)
        while true {
            let view = try await api.rollout(id)
            progress.show(ProgressBar().render(done: view.settled, total: view.items.count, detail: summary(view)))
            if view.rollout.state.isFinal || view.rollout.state == .halted {
                progress.finish()
                return view
            }
            guard ContinuousClock.now < deadline else {
                progress.finish()
                throw CLIError("rollout \(id) is still \(view.rollout.state.rawValue) after \(timeout) s", hint: "deskpool policy status \(id) shows each desktop")
            }
            try await Task.sleep(for: .seconds(2))
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check policy files here, without a broker: every error with file, line, column and reason.",
            discussion: "Exits 1 if any file has an error; a file with an error would be refused whole by the broker."
        )
        @Argument(help: "Policy files or directories of them.", completion: .file()) var paths: [String]

        func run() async throws {
            try await reportingErrors {
                var failed = false
                for path in paths {
                    var isDirectory: ObjCBool = false
                    _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                    do {
                        let policies = isDirectory.boolValue ? try PolicyFile.loadDirectory(path) : [try PolicyFile.load(file: path)]
                        for policy in policies { print("ok \(policy.kind.rawValue) \(policy.name)") }
                    } catch {
                        failed = true
                        writeError("error: \(error)\n")
                    }
                }
                if failed { throw ExitCode.failure }
            }
        }
    }

    struct Plan: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what applying a policy would do to each desktop: the change, how, in which wave, and the user impact.",
            discussion: "Nothing changes. The same policy and broker state give the same plan."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The policy file.", completion: .file()) var file: String

        func run(_ api: APIClient) async throws {
            let plan = try await api.planPolicy(try PolicyCommand.source(file))
            if output.json { return printJSON(try PrettyJSON.encode(plan)) }
            print("\(plan.kind.rawValue) \(plan.policy): \(plan.included.count) desktop(s) in \(plan.waves) wave(s)")
            for pool in plan.pools { print("  pool \(pool.pool): \(pool.changes.joined(separator: "; "))") }
            print(PolicyCommand.table(plan).render(), terminator: "")
        }
    }

    struct Apply: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a policy: the broker records a rollout and carries it out in waves.",
            discussion: "With --wait, follows the rollout until it completes, halts or is rolled back (exit 1 unless completed)."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The policy file.", completion: .file()) var file: String
        @Flag(help: "Follow the rollout until it is over.") var wait = false
        @Option(help: "Seconds to wait with --wait.") var timeout = 3600

        func run(_ api: APIClient) async throws {
            var view = try await api.applyPolicy(try PolicyCommand.source(file))
            if wait { view = try await PolicyCommand.follow(view.rollout.id, api: api, timeout: timeout) }
            if output.json { printJSON(try PrettyJSON.encode(view)) } else { print(PolicyCommand.summary(view)) }
            if wait && view.rollout.state != .completed { throw ExitCode.failure }
        }
    }

    struct Status: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Show rollouts (newest first), or one rollout with each desktop's progress."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "A rollout id; without it, the list.") var id: String?
        @Flag(help: "Only rollouts that are not over.") var active = false

        func run(_ api: APIClient) async throws {
            guard let id else {
                let views = try await api.rollouts(active: active)
                if output.json { return printJSON(try PrettyJSON.encode(views)) }
                if views.isEmpty { print("no rollouts") }
                for view in views { print(PolicyCommand.summary(view)) }
                return
            }
            let view = try await api.rollout(id)
            if output.json { return printJSON(try PrettyJSON.encode(view)) }
            print(PolicyCommand.summary(view))
            print(PolicyCommand.itemsTable(view).render(), terminator: "")
        }
    }
}

/// `policy pause|resume|cancel|rollback ID`: one rollout action.
protocol RolloutActionCommand: APICommand {
    static var action: String { get }
    var output: OutputOptions { get }
    var id: String { get }
}

extension RolloutActionCommand {
    func run(_ api: APIClient) async throws {
        let view = try await api.rolloutAction(id, Self.action)
        if output.json { return printJSON(try PrettyJSON.encode(view)) }
        print(PolicyCommand.summary(view))
    }
}

extension PolicyCommand {
    struct Pause: RolloutActionCommand {
        static let action = "pause"
        static let configuration = CommandConfiguration(abstract: "Pause a rollout: desktops being changed finish, no new one starts.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The rollout id.") var id: String
    }

    struct Resume: RolloutActionCommand {
        static let action = "resume"
        static let configuration = CommandConfiguration(abstract: "Resume a paused or halted rollout.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The rollout id.") var id: String
    }

    struct Cancel: RolloutActionCommand {
        static let action = "cancel"
        static let configuration = CommandConfiguration(abstract: "Stop a rollout for good: changed desktops stay changed, the rest stay as they were.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The rollout id.") var id: String
    }

    struct Rollback: RolloutActionCommand {
        static let action = "rollback"
        static let configuration = CommandConfiguration(
            abstract: "Take every desktop the rollout changed back to where it was (idle ones now, those in use at logoff).")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The rollout id.") var id: String
    }
}
