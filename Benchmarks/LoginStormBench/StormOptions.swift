import BenchSupport
import Foundation

/// The benchmark's settings (see main.swift for the options).
struct StormOptions: Sendable {
    var usersFile: String
    var group: String
    var service: String
    var concurrency: Int
    var maxConcurrentLogins: Int
    var loginTimeoutSeconds: Int
    var templateDirectory: String
    var stateDirectory: String
    var consoleURI: String
    var consoleDomains: [String]
    var hostLimit: Int
    var spare: Int
    /// With replicas: the single broker's and the replicas' PostgreSQL stores (two fresh
    /// databases) and the password file.
    var replicas: Int
    var singleStore: String
    var replicaStore: String
    var passwordFile: String

    init(_ arguments: Arguments) {
        usersFile = arguments.string("users")
        group = arguments.string("group", "dpstorm-users")
        service = arguments.string("service", "deskpool-storm")
        concurrency = arguments.int("concurrency", 0)
        maxConcurrentLogins = arguments.int("max-concurrent-logins", 8)
        loginTimeoutSeconds = arguments.int("login-timeout", 10)
        templateDirectory = arguments.string("template", "templates/tiny-linux")
        stateDirectory = arguments.string("state-dir")
        consoleURI = arguments.string("console-uri", "none")
        consoleDomains = arguments.string("console-domains", "").split(separator: ",").map(String.init)
        hostLimit = arguments.int("host-limit", 16)
        spare = arguments.int("spare", 10)
        replicas = arguments.int("replicas", 0)
        singleStore = arguments.string("single-store", "")
        replicaStore = arguments.string("replica-store", "")
        passwordFile = arguments.string("password-file", "")
    }
}
