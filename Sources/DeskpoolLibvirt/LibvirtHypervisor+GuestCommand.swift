public import DeskpoolCore
import Foundation
import Libvirt

/// Programs run in a desktop's guest through its agent (`guest-exec`): the one place Deskpool
/// talks guest-exec, for policies' in-guest commands and for messages on the console.
extension LibvirtHypervisor {
    /// How long one agent call may take before the agent counts as not answering: a guest
    /// whose agent is gone or hung fails within seconds instead of holding a rollout.
    static let agentAnswerSeconds: Int32 = 3

    public func runGuestCommand(_ command: GuestCommand, timeout: Duration,
                                onDesktop name: String) async throws(DeskpoolError) -> GuestCommandResult {
        try await guestCommand(command, timeout: timeout, onDesktop: name, operation: "running \(command.path) on desktop \(name)")
    }

    /// `runGuestCommand` with the operation its errors name.
    func guestCommand(_ command: GuestCommand, timeout: Duration, onDesktop name: String,
                      operation: String) async throws(DeskpoolError) -> GuestCommandResult {
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop")
        }
        var arguments: [String: Any] = ["path": command.path, "arg": command.arguments, "capture-output": true]
        // Standard input travels base64-encoded, never inside a command line.
        if let input = command.input { arguments["input-data"] = Data(input.utf8).base64EncodedString() }
        let started = try await agent(domain, Self.json(["execute": "guest-exec", "arguments": arguments]), operation)
        guard let pid = Self.agentReturn(started)?["pid"] as? Int else {
            throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): unexpected guest-exec answer")
        }
        let status = Self.json(["execute": "guest-exec-status", "arguments": ["pid": pid]])
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var pause = Duration.milliseconds(20)
        while true {
            let answer = try await agent(domain, status, operation)
            guard let state = Self.agentReturn(answer) else {
                throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): unexpected guest-exec-status answer")
            }
            if state["exited"] as? Bool == true { return Self.result(of: state) }
            guard clock.now < deadline else {
                throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): \(command.path) did not finish within \(Self.seconds(timeout)) s")
            }
            guard !Task.isCancelled else {
                throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): cancelled while \(command.path) runs in the guest")
            }
            // Quick commands end within a poll or two; longer ones are asked less often.
            try? await Task.sleep(for: min(pause, deadline - clock.now))
            pause = min(pause * 2, .milliseconds(500))
        }
    }

    /// One agent call with the short timeout; an agent that is not there, not connected or
    /// not answering is said so.
    private func agent(_ domain: Domain, _ json: String, _ operation: String) async throws(DeskpoolError) -> String {
        do throws(LibvirtError) {
            return try await domain.agentCommand(json, timeout: .seconds(Self.agentAnswerSeconds))
        } catch where error.code == .noSupport {
            throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): no guest agent support on this host")
        } catch where [.agentUnresponsive, .agentUnsynced, .argumentUnsupported, .operationTimeout].contains(error.code) {
            throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): the guest agent does not answer (\(error.message))")
        } catch {
            throw failure(operation, error)
        }
    }

    /// A finished guest-exec-status: exit code (128 + N for a signal, as shells say), and
    /// each output cut at `GuestCommandResult.outputLimit` bytes.
    static func result(of state: [String: Any]) -> GuestCommandResult {
        let exitCode = (state["exitcode"] as? Int) ?? (state["signal"] as? Int).map { 128 + $0 } ?? -1
        let limit = GuestCommandResult.outputLimit
        let out = (state["out-data"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data()
        let err = (state["err-data"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data()
        let truncated = out.count > limit || err.count > limit
            || state["out-truncated"] as? Bool == true || state["err-truncated"] as? Bool == true
        return GuestCommandResult(exitCode: exitCode, stdout: String(decoding: out.prefix(limit), as: UTF8.self),
                                  stderr: String(decoding: err.prefix(limit), as: UTF8.self), truncated: truncated)
    }

    /// The `return` object of a guest agent answer.
    static func agentReturn(_ json: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["return"] as? [String: Any]
    }

    private static func json(_ object: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
    }

    /// "30", "1.5": a duration in seconds for messages.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        guard attoseconds != 0 else { return String(seconds) }
        return String(format: "%g", Double(seconds) + Double(attoseconds) / 1e18)
    }
}
