import BenchSupport
// The login storm benchmark (issue 5), run by scripts/bench-login-storm (as root), which makes
// the PAM accounts and the PAM service:
//
//   LoginStormBench --users FILE --state-dir DIR [--concurrency C (default: all users)]
//                   [--max-concurrent-logins 8] [--login-timeout 10] [--service deskpool-storm]
//                   [--group dpstorm-users] [--template templates/tiny-linux] [--spare 10]
//                   [--console-uri qemu:///system --console-domains a,b,c | --console-uri none]
//                   [--replicas R --single-store postgres://... --replica-store postgres://... --password-file F]
//
// In one process: N bare PAM authentications through PAMAuthenticator (the floor), then N
// users logging in and asking for a desktop from a warm pool through the broker's HTTP API
// (the storm), then the floor again. Prints the table on standard output; progress goes to
// standard error. FILE has one "user password" line per user (root-only). With --replicas: the
// storm through one broker on the first PostgreSQL database, then through R replicas on the
// second (issue 17), between the two floors.
import Foundation

do {
    try await LoginStorm(options: StormOptions(Arguments(CommandLine.arguments.dropFirst()))).run()
} catch {
    FileHandle.standardError.write(Data("LoginStormBench: \(error)\n".utf8))
    exit(1)
}
