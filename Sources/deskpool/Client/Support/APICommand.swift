import ArgumentParser
import DeskpoolClient
import DeskpoolCore

/// A command that talks to the broker's API with the saved login. It implements
/// `run(_ api:)`; errors are printed as `error: code: message` (with a hint when there is
/// one) and the command exits 1.
protocol APICommand: AsyncParsableCommand {
    var client: ClientOptions { get }
    func run(_ api: APIClient) async throws
}

extension APICommand {
    func run() async throws {
        try await reportingErrors {
            try await run(try client.open())
        }
    }
}

/// Runs a command's body; prints Deskpool's errors readably on standard error and exits 1.
/// ArgumentParser's own errors (usage, `ExitCode`) pass through.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ClientError {
        throw report(error.description, hint: error.hint)
    } catch let error as CLIError {
        throw report(error.description, hint: error.hint)
    } catch let error as ServerUnreachable {
        throw report(error.description, hint: nil)
    } catch let error as UnexpectedAnswer {
        throw report(error.description, hint: "is the server a Deskpool broker of the same version?")
    } catch let error as SettingsError {
        throw report(error.description, hint: nil)
    } catch let error as ConfigurationError {
        throw report("error: \(error)", hint: nil)
    }
}

/// Prints the error and its hint; the command then exits 1.
func report(_ message: String, hint: String?) -> ExitCode {
    writeError(message + "\n" + (hint.map { "hint: \($0)\n" } ?? ""))
    return ExitCode.failure
}
