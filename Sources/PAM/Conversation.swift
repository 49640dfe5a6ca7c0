internal import CPAM
import Foundation

/// The PAM conversation for one non-interactive login: answers hidden prompts with the
/// password and visible prompts with the user name, and keeps what modules said.
final class Conversation {
    let user: String
    let password: SecretBytes
    private(set) var infos: [String] = []
    private(set) var errors: [String] = []

    init(user: String, password: SecretBytes) {
        self.user = user
        self.password = password
    }

    /// Answers `count` messages; returns a `calloc`ed response array that libpam frees.
    func respond(to messages: [(style: Int32, text: String)]) -> UnsafeMutablePointer<pam_response>? {
        guard let responses = calloc(messages.count, MemoryLayout<pam_response>.stride)?
            .bindMemory(to: pam_response.self, capacity: messages.count) else { return nil }
        for (index, message) in messages.enumerated() {
            switch message.style {
            case PAM_PROMPT_ECHO_OFF:
                responses[index].resp = password.mallocCopy()
            case PAM_PROMPT_ECHO_ON:
                responses[index].resp = strdup(user)
            case PAM_ERROR_MSG:
                errors.append(message.text)
            case PAM_TEXT_INFO:
                infos.append(message.text)
            default:
                // Unknown styles (binary prompts): refuse the conversation.
                for answered in 0..<index { wipeAndFree(responses[answered].resp) }
                free(responses)
                return nil
            }
        }
        return responses
    }

    private func wipeAndFree(_ pointer: UnsafeMutablePointer<CChar>?) {
        guard let pointer else { return }
        explicit_bzero(pointer, strlen(pointer))
        free(pointer)
    }
}

/// libpam's callback: reads the messages and hands them to the `Conversation` in
/// `appdataPointer`.
func conversationCallback(
    _ count: Int32,
    _ messages: UnsafeMutablePointer<UnsafePointer<pam_message>?>?,
    _ responses: UnsafeMutablePointer<UnsafeMutablePointer<pam_response>?>?,
    _ appdataPointer: UnsafeMutableRawPointer?
) -> Int32 {
    guard count > 0, let messages, let responses, let appdataPointer else { return PAM_CONV_ERR }
    let conversation = Unmanaged<Conversation>.fromOpaque(appdataPointer).takeUnretainedValue()
    let list = (0..<Int(count)).map { index -> (style: Int32, text: String) in
        let message = messages[index]?.pointee
        return (message?.msg_style ?? -1, message?.msg.map { String(cString: $0) } ?? "")
    }
    guard let answer = conversation.respond(to: list) else { return PAM_CONV_ERR }
    responses.pointee = answer
    return PAM_SUCCESS
}
