public import Foundation

/// A PAM conversation's question to its user, as the store keeps it for every broker: which
/// broker holds the conversation (`owner`), until when it may be answered, and whether it was.
///
/// The challenge's id is a secret shown once to the client; the store keeps only its SHA-256
/// (`key`). A challenge is answered once (`Store.answerChallenge`). When another broker than
/// the owner receives the answers, it relays them through the store: `answers` holds them sealed
/// with a key derived from the challenge id (only the client and the owner know it) until the
/// owner takes them, and `outcome` the owner's answer, sealed the same way, for the relaying
/// broker.
public struct LoginChallenge: Sendable, Hashable {
    public var key: String
    /// The broker process that holds the PAM conversation.
    public var owner: String
    public var user: String
    public var address: String
    public var createdAt: Date
    public var expiresAt: Date
    public var answeredAt: Date?
    /// Relayed answers, sealed for the owner; nil when the owner was answered directly, or
    /// once it took them.
    public var answers: [UInt8]?
    /// The owner's outcome of relayed answers, sealed for the relaying broker.
    public var outcome: [UInt8]?

    public init(key: String, owner: String, user: String, address: String, createdAt: Date, expiresAt: Date,
                answeredAt: Date? = nil, answers: [UInt8]? = nil, outcome: [UInt8]? = nil) {
        self.key = key
        self.owner = owner
        self.user = user
        self.address = address
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.answeredAt = answeredAt
        self.answers = answers
        self.outcome = outcome
    }
}
