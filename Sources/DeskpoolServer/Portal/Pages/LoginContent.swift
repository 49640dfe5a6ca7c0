import DeskpoolCore

/// The login form.
struct LoginContent {
    var loginToken: String
    var next: String?
    var user: String
    /// What the authentication stack said before the login failed.
    var messages: [MessageLine] = [] {
        didSet { hasMessages = !messages.isEmpty }
    }
    /// Stored: the templates read properties by reflection.
    private(set) var hasMessages = false

    init(loginToken: String, next: String?, user: String, messages: [MessageLine] = []) {
        self.loginToken = loginToken
        self.next = next
        self.user = user
        self.messages = messages
        self.hasMessages = !messages.isEmpty
    }
}

/// A step of a login that asks more: each prompt a field (masked when its answer must not be
/// shown), with what the authentication stack said since the last step.
struct ChallengeContent {
    struct Field {
        var name: String
        var label: String
        var masked: Bool
        var autofocus: Bool
    }

    var loginToken: String
    var challenge: String
    var next: String?
    var messages: [MessageLine]
    var fields: [Field]
    var expiresInSeconds: Int
    var hasMessages: Bool

    init(loginToken: String, challenge: LoginChallengeView, next: String?, expiresInSeconds: Int) {
        self.loginToken = loginToken
        self.challenge = challenge.id
        self.next = next
        self.messages = challenge.messages.map(MessageLine.init)
        self.hasMessages = !challenge.messages.isEmpty
        self.fields = challenge.prompts.enumerated().map { index, prompt in
            Field(name: "answer-\(index)", label: ChallengeContent.label(prompt.text), masked: !prompt.echo, autofocus: index == 0)
        }
        self.expiresInSeconds = expiresInSeconds
    }

    /// A prompt as a label: PAM's prompts end in ": " for a terminal.
    static func label(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let label = trimmed.hasSuffix(":") ? String(trimmed.dropLast()) : trimmed
        return label.isEmpty ? "Answer" : label
    }
}

/// A message of the authentication stack on a page.
struct MessageLine {
    var text: String
    var error: Bool

    init(_ message: AuthMessage) {
        text = message.text
        error = message.kind == .error
    }
}

/// What the authentication stack said at a successful login, and where to go on.
struct LoginMessagesContent {
    var messages: [MessageLine]
    var next: String
}
