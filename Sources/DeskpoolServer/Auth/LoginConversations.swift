import Crypto
public import DeskpoolCore
public import Foundation
public import Logging

/// Login conversations for the API and the portal: each step of `LoginGate` becomes a login
/// session, a challenge the user must answer, or a refusal, and is audited.
///
/// A challenge lives in the store (`LoginChallenge`: the SHA-256 of its id, the broker that
/// holds the PAM conversation, when it expires, whether it was answered), so that it is
/// answered once, expires, and can be answered through any broker on a shared store. The PAM
/// conversation itself is a thread in the broker that began it: answers that reach another
/// broker are relayed through the store, sealed with a key derived from the challenge id
/// (which only the client and the owner know), and the owner's result comes back the same way.
public actor LoginConversations {
    let gate: LoginGate
    let sessions: LoginSessions
    let services: BrokerServices
    let metrics: ServerMetrics
    /// How long a challenge may be answered.
    let challengeLifetime: TimeInterval
    /// How long a relaying broker waits for the owner's result.
    let relayWait: Duration
    let logger: Logger
    /// This process among the brokers on the store.
    let owner = "broker-" + LoginSessions.randomToken().prefix(16)
    private var local: [String: Local] = [:]
    private var relay: Task<Void, Never>?
    private let sweep = Sweep(every: 60)

    /// A challenge of a conversation this broker holds.
    struct Local {
        var token: String
        var gateID: Int
        var kind: Kind
        var user: String
        var address: String?
        var expiresAt: Date
    }

    enum Kind {
        case login
        /// A pool's further factor, for the login whose key (token hash) this is.
        case factor(sessionKey: String, pool: String)
    }

    public init(gate: LoginGate, sessions: LoginSessions, services: BrokerServices, metrics: ServerMetrics,
                challengeSeconds: Int = 120, relayWait: Duration = .seconds(30), logger: Logger = Logger(label: "deskpool.auth")) {
        self.gate = gate
        self.sessions = sessions
        self.services = services
        self.metrics = metrics
        self.challengeLifetime = TimeInterval(challengeSeconds)
        self.relayWait = relayWait
        self.logger = logger
    }

    /// Starts a login: `password` answers PAM's first hidden prompt (nil: every prompt comes
    /// back as a challenge).
    public func begin(user: String, password: String?, address: String?, logger: Logger? = nil) async -> LoginResult {
        let logger = logger ?? self.logger
        let started = ContinuousClock.now
        if sweep.due(at: services.now()) { _ = try? await services.broker.store.deleteChallenges(expiredBy: services.now().addingTimeInterval(-60)) }
        do throws(LoginGate.Refusal) {
            let step = try await gate.begin(user: user, password: password, address: address)
            return await settle(step, kind: .login, user: user, address: address, started: started, logger: logger)
        } catch {
            return await refused(error, user: user, address: address, started: started, logger: logger)
        }
    }

    /// Starts the further login a pool asks for (`PoolSpec.factor`), for the login `login`
    /// whose token is `token`: every prompt comes back as a challenge.
    public func beginFactor(pool: PoolSpec, login: LoginSession, token: String, address: String?, logger: Logger? = nil) async -> LoginResult {
        let logger = logger ?? self.logger
        guard let service = pool.factor else {
            return .refused(LoginRefusal(DeskpoolError(.invalidInput, "pool \(pool.name) asks for no further login", field: "pool")))
        }
        let started = ContinuousClock.now
        do throws(LoginGate.Refusal) {
            let step = try await gate.begin(user: login.user, password: nil, service: service, address: address)
            return await settle(step, kind: .factor(sessionKey: LoginSessions.key(token), pool: pool.name), user: login.user, address: address,
                                started: started, logger: logger)
        } catch {
            return await refused(error, user: login.user, address: address, started: started, logger: logger)
        }
    }

    /// Answers challenge `id`: one answer per prompt, in order. Answered here when this broker
    /// holds the conversation, else relayed to the broker that does.
    public func answer(challenge id: String, answers: [String], logger: Logger? = nil) async -> LoginResult {
        let logger = logger ?? self.logger
        guard Self.isChallengeID(id) else { return .refused(LoginRefusal(LoginGate.Refusal(reason: .ended).error)) }
        guard answers.count <= 16, answers.allSatisfy({ $0.utf8.count <= 1024 && !$0.utf8.contains(0) }) else {
            return .refused(LoginRefusal(DeskpoolError(.invalidInput, "at most 16 answers of at most 1024 bytes each, without NUL bytes",
                                                       field: "answers")))
        }
        let key = LoginSessions.key(id)
        let now = services.now()
        if let held = local[key] {
            // Answered once, through whichever broker comes first.
            let claimed: LoginChallenge?
            do {
                claimed = try await services.broker.store.answerChallenge(key: key, at: now, answers: nil)
            } catch {
                return .refused(LoginRefusal(error))
            }
            guard claimed != nil, local.removeValue(forKey: key) != nil else {
                return .refused(LoginRefusal(LoginGate.Refusal(reason: .ended).error))
            }
            try? await services.broker.store.deleteChallenge(key: key)
            return await proceed(held, answers: answers, logger: logger)
        }
        return await relayed(key: key, id: id, answers: answers)
    }

    // MARK: - Steps

    /// Continues a conversation held here with the user's answers.
    private func proceed(_ held: Local, answers: [String], logger: Logger) async -> LoginResult {
        let started = ContinuousClock.now
        do throws(LoginGate.Refusal) {
            let step = try await gate.answer(held.gateID, answers: answers)
            return await settle(step, kind: held.kind, user: held.user, address: held.address, started: started, logger: logger)
        } catch {
            return await refused(error, user: held.user, address: held.address, started: started, logger: logger)
        }
    }

    private func settle(_ step: LoginGate.Step, kind: Kind, user: String, address: String?, started: ContinuousClock.Instant,
                        logger: Logger) async -> LoginResult {
        let store = services.broker.store
        switch step {
        case .asking(let gateID, let prompts, let messages):
            let token = LoginSessions.randomToken()
            let now = services.now()
            let expiresAt = now.addingTimeInterval(challengeLifetime)
            let challenge = LoginChallenge(key: LoginSessions.key(token), owner: owner, user: user,
                                           address: address ?? LoginThrottle.unknownAddress, createdAt: now, expiresAt: expiresAt)
            do {
                try await store.putChallenge(challenge)
            } catch {
                await gate.cancel(gateID)
                return .refused(LoginRefusal(error))
            }
            local[challenge.key] = Local(token: token, gateID: gateID, kind: kind, user: user, address: address, expiresAt: expiresAt)
            startRelay()
            metrics.loginChallenges.increment()
            logger.debug("login challenge", metadata: ["user": "\(user)", "prompts": "\(prompts.count)"])
            return .challenge(LoginChallengeView(id: token, prompts: prompts, messages: messages, expiresAt: expiresAt))
        case .authenticated(let principal, let service, let messages):
            metrics.pamDuration.record(ContinuousClock.now - started)
            switch kind {
            case .login:
                let admin = principal.groups.contains(services.adminGroup)
                let created: (token: String, login: LoginSession)
                do {
                    created = try await sessions.create(principal, admin: admin)
                } catch {
                    return .refused(LoginRefusal(error))
                }
                metrics.loginsOK.increment()
                logger.info("login", metadata: ["user": "\(principal.user)", "admin": "\(admin)", "session": "\(created.login.handle)"])
                try? await services.broker.audit(AuditEntry(at: services.now(), actor: "user:\(principal.user)", action: "auth.login",
                                                           subject: Self.addressSubject(address), detail: admin ? "admin" : ""))
                return .loggedIn(token: created.token, login: created.login, messages: messages)
            case .factor(let sessionKey, let pool):
                do {
                    guard var login = try await store.login(key: sessionKey), login.isLive(at: services.now(), idle: sessions.idle),
                          login.user == principal.user else {
                        return .refused(LoginRefusal(DeskpoolError(.unauthenticated, "the login this factor was for has ended; log in again")))
                    }
                    if !login.principal.factors.contains(service) { login.principal.factors.append(service) }
                    guard try await store.replaceLogin(login, key: sessionKey) else {
                        return .refused(LoginRefusal(DeskpoolError(.unauthenticated, "the login this factor was for has ended; log in again")))
                    }
                    logger.info("login factor", metadata: ["user": "\(login.user)", "service": "\(service)", "pool": "\(pool)",
                                                           "session": "\(login.handle)"])
                    try? await services.broker.audit(AuditEntry(at: services.now(), actor: "user:\(login.user)", action: "auth.factor",
                                                               subject: "pool/\(pool)", detail: "\(service) from \(address ?? LoginThrottle.unknownAddress)"))
                    return .factorPassed(login: login, messages: messages)
                } catch {
                    return .refused(LoginRefusal(error))
                }
            }
        }
    }

    private func refused(_ refusal: LoginGate.Refusal, user: String, address: String?, started: ContinuousClock.Instant,
                         logger: Logger) async -> LoginResult {
        if case .failed = refusal.reason { metrics.pamDuration.record(ContinuousClock.now - started) }
        metrics.loginFailed(refusal.error.code)
        await record(refusal, user: user, address: address, logger: logger)
        var answer = LoginRefusal(refusal.error, messages: refusal.messages)
        answer.retryAfter = refusal.retryAfter
        return .refused(answer)
    }

    // MARK: - Through another broker

    /// Hands the answers to the broker holding the conversation, through the store, and waits
    /// for its result.
    private func relayed(key: String, id: String, answers: [String]) async -> LoginResult {
        let store = services.broker.store
        let sealed: [UInt8]
        do {
            sealed = try Self.seal(JSONEncoder().encode(answers), id: id)
        } catch {
            return .refused(LoginRefusal(DeskpoolError(.invalidInput, "the answers cannot be encoded", field: "answers")))
        }
        do {
            guard let claimed = try await store.answerChallenge(key: key, at: services.now(), answers: sealed) else {
                return .refused(LoginRefusal(LoginGate.Refusal(reason: .ended).error))
            }
            // This process made it, but holds it no more (its conversation ended).
            guard claimed.owner != owner else {
                try? await store.deleteChallenge(key: key)
                return .refused(LoginRefusal(LoginGate.Refusal(reason: .ended).error))
            }
            let deadline = ContinuousClock.now + relayWait
            while ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
                guard let challenge = try await store.challenge(key: key) else { break }
                guard let outcome = challenge.outcome else { continue }
                try? await store.deleteChallenge(key: key)
                guard let opened = try? Self.open(outcome, id: id), let result = try? JSONDecoder().decode(LoginResult.self, from: opened) else {
                    break
                }
                return result
            }
        } catch {
            return .refused(LoginRefusal(error))
        }
        try? await store.deleteChallenge(key: key)
        return .refused(LoginRefusal(DeskpoolError(.unavailable, "the broker that held this login did not answer; log in again")))
    }

    /// While this broker holds conversations: takes the answers other brokers relayed to them,
    /// and ends those whose challenge expired.
    private func startRelay() {
        guard relay == nil else { return }
        relay = Task { [weak self] in
            while let self, await self.relayPass() {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// One pass of the relay; false when there is nothing left to watch (the loop ends).
    private func relayPass() async -> Bool {
        let now = services.now()
        for (key, held) in local where held.expiresAt <= now {
            local[key] = nil
            await gate.cancel(held.gateID)
        }
        guard !local.isEmpty else {
            relay = nil
            return false
        }
        guard let taken = try? await services.broker.store.takeChallengeAnswers(owner: owner) else { return true }
        for challenge in taken {
            guard let held = local.removeValue(forKey: challenge.key) else { continue }
            Task { await self.answerRelayed(challenge, held: held) }
        }
        // (A challenge taken that is not held here any more cannot be opened: its id is gone
        // with it. The relaying broker gives up after `relayWait`.)
        return true
    }

    private func answerRelayed(_ challenge: LoginChallenge, held: Local) async {
        let result: LoginResult
        if let sealed = challenge.answers, let opened = try? Self.open(sealed, id: held.token),
           let answers = try? JSONDecoder().decode([String].self, from: opened) {
            result = await proceed(held, answers: answers, logger: logger)
        } else {
            await gate.cancel(held.gateID)
            result = .refused(LoginRefusal(LoginGate.Refusal(reason: .ended).error))
        }
        guard let encoded = try? JSONEncoder().encode(result), let sealed = try? Self.seal(encoded, id: held.token) else { return }
        try? await services.broker.store.putChallengeOutcome(key: challenge.key, outcome: sealed)
    }

    // MARK: - Sealing

    /// A challenge id as handed out: 44 base64url characters.
    static func isChallengeID(_ id: String) -> Bool {
        id.utf8.count == 44 && id.utf8.allSatisfy { $0.isBase64URL }
    }

    static func sealingKey(_ id: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: Data(id.utf8)), info: Data("deskpool login challenge relay".utf8),
                               outputByteCount: 32)
    }

    static func seal(_ data: Data, id: String) throws -> [UInt8] {
        Array(try ChaChaPoly.seal(data, using: sealingKey(id)).combined)
    }

    static func open(_ bytes: [UInt8], id: String) throws -> Data {
        try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: Data(bytes)), using: sealingKey(id))
    }

    // MARK: - Audit

    /// The server log's and the audit's record of a refused login. What the client sent is
    /// never recorded raw: a malformed name only by its length, and a burst of throttled
    /// attempts as one count per key and interval (`LoginThrottle.reportInterval`).
    func record(_ refusal: LoginGate.Refusal, user: String, address: String?, logger: Logger) async {
        let address = address ?? LoginThrottle.unknownAddress
        let now = services.now()
        var entries: [AuditEntry] = []
        switch refusal.reason {
        case .invalidName(let bytes):
            logger.notice("login refused", metadata: ["user": "invalid name (\(bytes) bytes)", "address": "\(address)"])
            entries.append(AuditEntry(at: now, actor: "anonymous", action: "auth.login", subject: "invalid name (\(bytes) bytes)",
                                      result: "error: invalidInput", detail: "from \(address)"))
        case .failed(let error):
            // The true reason (expired, locked ...) for the admin; the client got the uniform answer.
            logger.notice("login refused", metadata: ["user": "\(user)", "address": "\(address)", "code": "\(error.code)",
                                                      "reason": "\(error.message)"])
            entries.append(AuditEntry(at: now, actor: "anonymous", action: "auth.login", subject: "user/\(user)",
                                      result: "error: \(error.code)", detail: "from \(address): \(error.message)"))
        case .throttled(let key, let locked, let report):
            logger.debug("login throttled", metadata: ["address": "\(address)", "locked": "\(locked)"])
            if let report {
                entries.append(AuditEntry(at: now, actor: "anonymous", action: "auth.throttled", subject: Self.subject(key),
                                          result: "error: throttled",
                                          detail: "\(report) login\(report == 1 ? "" : "s") refused while \(locked ? "locked" : "backed off")"))
            }
        case .busy:
            logger.notice("login refused: too many waiting", metadata: ["address": "\(address)"])
        case .ended:
            logger.notice("login challenge answered after it ended", metadata: ["user": "\(user)", "address": "\(address)"])
        }
        if let lock = refusal.lockStarted {
            logger.warning("login lockout", metadata: ["key": "\(Self.subject(lock.key))", "until": "\(lock.until.formatted(.iso8601))"])
            entries.append(AuditEntry(at: now, actor: "broker", action: "auth.lockout", subject: Self.subject(lock.key),
                                      result: "ok", detail: "\(lock.failures) failed logins; locked until \(lock.until.formatted(.iso8601))"))
        }
        for entry in entries { try? await services.broker.audit(entry) }
    }

    /// A throttle key in the audit: `user/NAME@ADDRESS` or `address/ADDRESS`.
    static func subject(_ key: LoginThrottle.Key) -> String {
        key.user.map { "user/\($0)@\(key.address)" } ?? "address/\(key.address)"
    }

    static func addressSubject(_ address: String?) -> String { "address/\(address ?? LoginThrottle.unknownAddress)" }
}

/// What a login step came to: a login session, a further factor passed, a challenge to answer,
/// or a refusal. (Codable: a broker that relayed the answers gets it from the owner, sealed.)
public enum LoginResult: Sendable, Codable {
    case loggedIn(token: String, login: LoginSession, messages: [AuthMessage])
    case factorPassed(login: LoginSession, messages: [AuthMessage])
    case challenge(LoginChallengeView)
    case refused(LoginRefusal)
}

/// A refused login step, as the client is told.
public struct LoginRefusal: Sendable, Codable {
    public var code: String
    public var message: String
    public var field: String?
    /// When a throttled client may try again.
    public var retryAfter: Date?
    /// When to try again after a failure that passes (the store away: `storeFailed`).
    public var retryAfterSeconds: Int?
    /// What the authentication stack said before it refused.
    public var messages: [AuthMessage]

    public init(_ error: DeskpoolError, messages: [AuthMessage] = []) {
        code = error.code.name
        message = error.message
        field = error.field
        retryAfterSeconds = error.retryAfterSeconds
        self.messages = messages
    }

    public var error: DeskpoolError {
        DeskpoolError(DeskpoolError.Code.named(code) ?? .unavailable, message, field: field, retryAfterSeconds: retryAfterSeconds)
    }
}

extension UInt8 {
    fileprivate var isBase64URL: Bool {
        (0x30...0x39).contains(self) || (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self) || self == 0x2D || self == 0x5F
    }
}
