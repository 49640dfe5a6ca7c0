public import DeskpoolCore
import Foundation

extension StoreConformance {
    /// Login challenges are kept by key and read back whole; answered once, before they expire;
    /// their relayed answers handed to their owner once (to one of several takers at once);
    /// given an outcome; and forgotten one by one or when expired. Of brokers answering one
    /// challenge at once, exactly one wins.
    public static func challenges(_ store: any Store) async throws {
        func challenge(_ key: String, owner: String = "broker-1", at: Date = t0, expiresIn: TimeInterval = 120) -> LoginChallenge {
            LoginChallenge(key: key, owner: owner, user: "alice", address: "10.0.0.1", createdAt: at, expiresAt: at.addingTimeInterval(expiresIn))
        }

        // Read back whole: without an answer and blobs, and with every field set.
        let plain = challenge("k-plain")
        try await store.putChallenge(plain)
        try expectEqual(try await store.challenge(key: "k-plain"), plain, "a new challenge, read back")
        try expectEqual(try await store.challenge(key: "k-nobody"), nil, "an unknown key")
        let full = LoginChallenge(key: "k-full", owner: "broker-2", user: "bob", address: "fd00::2", createdAt: t0.addingTimeInterval(1),
                                  expiresAt: t0.addingTimeInterval(61), answeredAt: t0.addingTimeInterval(5), answers: [0, 1, 255],
                                  outcome: [42])
        try await store.putChallenge(full)
        try expectEqual(try await store.challenge(key: "k-full"), full, "a challenge with every field, read back")
        try await store.deleteChallenge(key: "k-full")
        try expectEqual(try await store.challenge(key: "k-full"), nil, "a forgotten challenge")
        try await store.deleteChallenge(key: "k-full")

        // Answered once, and only before it expires.
        var answered = plain
        answered.answeredAt = t0.addingTimeInterval(30)
        try expectEqual(try await store.answerChallenge(key: "k-plain", at: t0.addingTimeInterval(30), answers: nil), answered,
                        "the challenge as answered by its owner")
        try expectEqual(try await store.answerChallenge(key: "k-plain", at: t0.addingTimeInterval(31), answers: [9]), nil, "a second answer")
        try expectEqual(try await store.challenge(key: "k-plain"), answered, "a refused second answer changes nothing")
        try expectEqual(try await store.answerChallenge(key: "k-nobody", at: t0, answers: nil), nil, "an answer to an unknown key")
        try await store.putChallenge(challenge("k-short", expiresIn: 60))
        try expectEqual(try await store.answerChallenge(key: "k-short", at: t0.addingTimeInterval(60), answers: [1]), nil,
                        "an answer as the challenge expires")
        try expectEqual(try await store.answerChallenge(key: "k-short", at: t0.addingTimeInterval(90), answers: [1]), nil,
                        "an answer after the challenge expired")
        try expectEqual(try await store.challenge(key: "k-short"), challenge("k-short", expiresIn: 60), "a refused late answer changes nothing")

        // Relayed answers wait for their owner, which takes them once.
        try await store.putChallenge(challenge("k-relayed"))
        try await store.putChallenge(challenge("k-relayed2", at: t0.addingTimeInterval(1)))
        try await store.putChallenge(challenge("k-elsewhere", owner: "broker-2"))
        var relayed = challenge("k-relayed")
        relayed.answeredAt = t0.addingTimeInterval(40)
        relayed.answers = [1, 2, 3]
        try expectEqual(try await store.answerChallenge(key: "k-relayed", at: t0.addingTimeInterval(40), answers: [1, 2, 3]), relayed,
                        "the challenge as answered through another broker")
        _ = try await store.answerChallenge(key: "k-relayed2", at: t0.addingTimeInterval(41), answers: [4])
        _ = try await store.answerChallenge(key: "k-elsewhere", at: t0.addingTimeInterval(42), answers: [5])
        let taken = try await store.takeChallengeAnswers(owner: "broker-1").sorted { $0.key < $1.key }
        try expectEqual(taken.map(\.key), ["k-relayed", "k-relayed2"], "the owner's relayed answers (not one answered directly, not another owner's)")
        try expectEqual(taken.first, relayed, "a relayed answer as taken")
        try expectEqual(taken.last?.answers, [4], "the other relayed answer")
        try expectEqual(try await store.takeChallengeAnswers(owner: "broker-1"), [], "answers taken already")
        relayed.answers = nil
        try expectEqual(try await store.challenge(key: "k-relayed"), relayed, "a taken challenge: answered, its answers gone")
        try expectEqual(try await store.takeChallengeAnswers(owner: "broker-2").map(\.answers), [[5]], "another owner's relayed answer")
        try expectEqual(try await store.takeChallengeAnswers(owner: "broker-3"), [], "an owner without challenges")

        // The owner's outcome, for the relaying broker.
        try await store.putChallengeOutcome(key: "k-relayed", outcome: [7, 7])
        relayed.outcome = [7, 7]
        try expectEqual(try await store.challenge(key: "k-relayed"), relayed, "a challenge with its outcome")
        try await store.putChallengeOutcome(key: "k-nobody", outcome: [7])
        try expectEqual(try await store.challenge(key: "k-nobody"), nil, "an outcome for an unknown key adds nothing")

        // Forgotten when expired: at or before the time, the live ones kept.
        try expectEqual(try await store.deleteChallenges(expiredBy: t0.addingTimeInterval(60)), 1, "challenges expired at +60 s (k-short)")
        try expectEqual(try await store.challenge(key: "k-short"), nil, "an expired challenge, forgotten")
        try expectEqual(try await store.deleteChallenges(expiredBy: t0.addingTimeInterval(120)), 3, "challenges expired at +120 s")
        try expect(try await store.challenge(key: "k-relayed2") != nil, "a challenge expiring at +121 s, kept")
        try expectEqual(try await store.deleteChallenges(expiredBy: t0.addingTimeInterval(120)), 0, "nothing more expired at +120 s")

        try await answerConcurrently(store)
        try await takeConcurrently(store)
    }

    /// Eight brokers answer one challenge at once: one wins, and its answers are the ones kept.
    static func answerConcurrently(_ store: any Store) async throws {
        try await store.putChallenge(LoginChallenge(key: "k-race", owner: "broker-1", user: "alice", address: "10.0.0.1",
                                                    createdAt: t0, expiresAt: t0.addingTimeInterval(120)))
        let winners = try await withThrowingTaskGroup(of: LoginChallenge?.self) { group in
            for n in 0..<8 {
                group.addTask { try await store.answerChallenge(key: "k-race", at: t0.addingTimeInterval(10), answers: [UInt8(n)]) }
            }
            return try await group.reduce(into: [LoginChallenge]()) { if let won = $1 { $0.append(won) } }
        }
        try expectEqual(winners.count, 1, "answers of one challenge at once that won")
        try expectEqual(try await store.challenge(key: "k-race")?.answers, winners.first?.answers, "the winner's answers, kept")
    }

    /// Four takers of one owner's relayed answers at once: each answer goes to exactly one.
    static func takeConcurrently(_ store: any Store) async throws {
        let keys = (0..<12).map { "k-take-\($0)" }
        for (n, key) in keys.enumerated() {
            try await store.putChallenge(LoginChallenge(key: key, owner: "broker-9", user: "alice", address: "10.0.0.1",
                                                        createdAt: t0, expiresAt: t0.addingTimeInterval(120)))
            _ = try await store.answerChallenge(key: key, at: t0.addingTimeInterval(1), answers: [UInt8(n)])
        }
        let taken = try await withThrowingTaskGroup(of: [LoginChallenge].self) { group in
            for _ in 0..<4 { group.addTask { try await store.takeChallengeAnswers(owner: "broker-9") } }
            return try await group.reduce(into: [LoginChallenge]()) { $0 += $1 }
        }
        try expectEqual(taken.map(\.key).sorted(), keys.sorted(), "relayed answers taken at once, each once")
        for challenge in taken {
            try expectEqual(challenge.answers, [UInt8(try require(keys.firstIndex(of: challenge.key), "a key"))], "the answers of \(challenge.key)")
        }
        try expectEqual(try await store.takeChallengeAnswers(owner: "broker-9"), [], "nothing left to take")
    }
}
