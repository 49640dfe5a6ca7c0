import DeskpoolClient
import DeskpoolCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Answers a login's challenges where the user is: each prompt of PAM at the terminal (without
/// echo when PAM says so), or, with `--password-stdin`, from the next lines of standard input
/// (the prompt is still written to standard error). PAM's messages go to standard error as PAM
/// gave them.
struct LoginPrompts {
    let fromStdin: Bool

    /// Answers challenges until the login (or factor) is decided; a refusal is a `ClientError`.
    func complete(_ first: LoginStep, api: APIClient) async throws -> LoginStep {
        var step = first
        var rounds = 0
        while case .challenge(let challenge) = step {
            rounds += 1
            guard rounds <= 20 else { throw CLIError("the login kept asking (20 steps); giving up") }
            Self.show(challenge.messages)
            var answers: [String] = []
            for prompt in challenge.prompts {
                answers.append(try ask(prompt))
            }
            do {
                step = try await api.answer(challenge, with: answers)
            } catch let error as ClientError {
                Self.show(error.messages)
                throw error
            }
        }
        switch step {
        case .loggedIn(let login): Self.show(login.messages)
        default: break
        }
        return step
    }

    private func ask(_ prompt: AuthPrompt) throws -> String {
        let text = prompt.text.hasSuffix(" ") || prompt.text.isEmpty ? prompt.text : prompt.text + " "
        if fromStdin {
            FileHandle.standardError.write(Data(text.utf8))
            guard let line = readLine(strippingNewline: true) else {
                FileHandle.standardError.write(Data("\n".utf8))
                throw CLIError("no answer on standard input for the prompt '\(prompt.text.trimmingCharacters(in: .whitespaces))'",
                               hint: "give one line per prompt after the password")
            }
            return line.hasSuffix("\r") ? String(line.dropLast()) : line
        }
        guard isatty(STDIN_FILENO) == 1 else {
            throw CLIError("the login asks '\(prompt.text.trimmingCharacters(in: .whitespaces))', and standard input is not a terminal",
                           hint: "give the answers on standard input, one line each, with --password-stdin")
        }
        if !prompt.echo { return try Password.prompt(text) }
        FileHandle.standardError.write(Data(text.utf8))
        return readLine(strippingNewline: true) ?? ""
    }

    /// PAM's messages, one a line on standard error (errors marked).
    static func show(_ messages: [AuthMessage]) {
        for message in messages {
            FileHandle.standardError.write(Data(((message.kind == .error ? "error: " : "") + message.text + "\n").utf8))
        }
    }
}
