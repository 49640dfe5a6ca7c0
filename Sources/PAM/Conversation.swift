internal import CPAM
import Foundation

extension PAMConversation {
    /// Answers one call of libpam's conversation function: messages are kept for the user, the
    /// first hidden prompt gets the given password, and the other prompts wait for the user's
    /// answers. Returns a `calloc`ed response array that libpam frees, or nil to fail the
    /// conversation (no answer in time, cancelled, or a prompt style we cannot answer).
    func respond(to messages: [(style: Int32, text: String)]) -> UnsafeMutablePointer<pam_response>? {
        guard let responses = calloc(messages.count, MemoryLayout<pam_response>.stride)?
            .bindMemory(to: pam_response.self, capacity: messages.count) else { return nil }
        var asked: [(index: Int, prompt: PAMPrompt)] = []
        for (index, message) in messages.enumerated() {
            switch message.style {
            case PAM_PROMPT_ECHO_OFF:
                if let password = takePassword() {
                    responses[index].resp = password.mallocCopy()
                } else {
                    asked.append((index, PAMPrompt(text: message.text, echo: false)))
                }
            case PAM_PROMPT_ECHO_ON:
                asked.append((index, PAMPrompt(text: message.text, echo: true)))
            case PAM_ERROR_MSG:
                received(PAMMessage(text: message.text, error: true))
            case PAM_TEXT_INFO:
                received(PAMMessage(text: message.text, error: false))
            default:
                // Binary prompts (and unknown styles): no client can answer them.
                return fail(responses, count: messages.count)
            }
        }
        if !asked.isEmpty {
            guard let answers = ask(asked.map(\.prompt)), answers.count == asked.count else {
                return fail(responses, count: messages.count)
            }
            for (slot, answer) in zip(asked, answers) { responses[slot.index].resp = answer.mallocCopy() }
        }
        return responses
    }

    private func fail(_ responses: UnsafeMutablePointer<pam_response>, count: Int) -> UnsafeMutablePointer<pam_response>? {
        for index in 0..<count {
            guard let pointer = responses[index].resp else { continue }
            explicit_bzero(pointer, strlen(pointer))
            free(pointer)
        }
        free(responses)
        return nil
    }
}

/// libpam's callback: reads the messages and hands them to the `PAMConversation` in
/// `appdataPointer`.
func conversationCallback(
    _ count: Int32,
    _ messages: UnsafeMutablePointer<UnsafePointer<pam_message>?>?,
    _ responses: UnsafeMutablePointer<UnsafeMutablePointer<pam_response>?>?,
    _ appdataPointer: UnsafeMutableRawPointer?
) -> Int32 {
    guard count > 0, let messages, let responses, let appdataPointer else { return PAM_CONV_ERR }
    let conversation = Unmanaged<PAMConversation>.fromOpaque(appdataPointer).takeUnretainedValue()
    let list = (0..<Int(count)).map { index -> (style: Int32, text: String) in
        let message = messages[index]?.pointee
        return (message?.msg_style ?? -1, message?.msg.map { String(cString: $0) } ?? "")
    }
    guard let answer = conversation.respond(to: list) else { return PAM_CONV_ERR }
    responses.pointee = answer
    return PAM_SUCCESS
}
