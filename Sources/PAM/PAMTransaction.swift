internal import CPAM
import Foundation

/// One blocking PAM login: `pam_start`, `pam_authenticate`, `pam_acct_mgmt` (and
/// `pam_chauthtok` when PAM says the password must change now), `pam_end`, talking with the
/// user through `conversation`. Runs on a dedicated thread (see `BlockingRunner`); never on
/// Swift's cooperative pool.
enum PAMTransaction {
    static func run(_ conversation: PAMConversation, remoteHost: String?) -> Result<PAMAccount, PAMError> {
        let service = conversation.service
        let user = conversation.user
        let appdata = Unmanaged.passUnretained(conversation).toOpaque()
        var conv = pam_conv(conv: conversationCallback, appdata_ptr: appdata)
        var handle: OpaquePointer?
        var status = pam_start(service, user, &conv, &handle)
        guard status == PAM_SUCCESS, let handle else {
            return .failure(PAMError(code: .serviceError, pamStatus: status,
                                     message: "pam_start(\(service)) failed: \(describe(nil, status))"))
        }
        defer {
            pam_end(handle, status)
            withExtendedLifetime(conversation) {}
        }
        if let remoteHost {
            _ = pam_set_item(handle, PAM_RHOST, remoteHost)
        }
        // Not PAM_SILENT: what modules say (a code was sent, the password expires soon) is
        // for the user.
        let flags = Int32(PAM_DISALLOW_NULL_AUTHTOK)

        status = pam_authenticate(handle, flags)
        if status != PAM_SUCCESS {
            var code = authenticationCode(status)
            // pam_unix reports a locked password ("!" in the shadow file) as a plain
            // authentication failure; tell it apart where the shadow database is readable.
            if code == .wrongCredentials, UserDatabase.isPasswordLocked(user) { code = .accountLocked }
            return .failure(failure(code, handle, status, conversation))
        }

        status = pam_acct_mgmt(handle, flags)
        if status == PAM_NEW_AUTHTOK_REQD {
            // The password must change now: in the same conversation, as login(1) does.
            status = pam_chauthtok(handle, Int32(PAM_CHANGE_EXPIRED_AUTHTOK))
            if status != PAM_SUCCESS {
                return .failure(failure(.passwordExpired, handle, status, conversation, doing: "pam_chauthtok"))
            }
        } else if status != PAM_SUCCESS {
            return .failure(failure(accountCode(status), handle, status, conversation))
        }

        let name = currentUser(handle) ?? user
        return .success(PAMAccount(user: name, groups: UserDatabase.groups(of: name)))
    }

    /// What a failed `pam_authenticate` means.
    static func authenticationCode(_ status: Int32) -> PAMError.Code {
        switch status {
        case PAM_AUTH_ERR, PAM_CRED_INSUFFICIENT: .wrongCredentials
        case PAM_USER_UNKNOWN: .unknownUser
        case PAM_MAXTRIES: .accountLocked
        case PAM_ACCT_EXPIRED: .accountExpired
        case PAM_NEW_AUTHTOK_REQD: .passwordExpired
        case PAM_PERM_DENIED: .accessDenied
        case PAM_AUTHINFO_UNAVAIL, PAM_CONV_ERR, PAM_SYSTEM_ERR, PAM_BUF_ERR, PAM_CRED_UNAVAIL: .moduleError
        default: .serviceError  // PAM_ABORT, PAM_OPEN_ERR, PAM_SYMBOL_ERR, PAM_SERVICE_ERR, ...
        }
    }

    /// What a failed `pam_acct_mgmt` means.
    static func accountCode(_ status: Int32) -> PAMError.Code {
        switch status {
        case PAM_ACCT_EXPIRED: .accountExpired
        case PAM_NEW_AUTHTOK_REQD, PAM_AUTHTOK_EXPIRED: .passwordExpired
        case PAM_USER_UNKNOWN: .unknownUser
        case PAM_PERM_DENIED, PAM_AUTH_ERR: .accessDenied
        case PAM_MAXTRIES: .accountLocked
        case PAM_AUTHINFO_UNAVAIL, PAM_CONV_ERR, PAM_SYSTEM_ERR, PAM_BUF_ERR: .moduleError
        default: .serviceError
        }
    }

    private static func failure(
        _ code: PAMError.Code, _ handle: OpaquePointer, _ status: Int32, _ conversation: PAMConversation, doing call: String? = nil
    ) -> PAMError {
        var message = describe(handle, status)
        if let call { message = "\(call): \(message)" }
        let said = conversation.errorsSaid
        if !said.isEmpty {
            message += " (module said: \(said.joined(separator: "; ")))"
        }
        return PAMError(code: code, pamStatus: status, message: message)
    }

    private static func describe(_ handle: OpaquePointer?, _ status: Int32) -> String {
        pam_strerror(handle, status).map { String(cString: $0) } ?? "PAM status \(status)"
    }

    private static func currentUser(_ handle: OpaquePointer) -> String? {
        var item: UnsafeRawPointer?
        guard pam_get_item(handle, PAM_USER, &item) == PAM_SUCCESS, let item else { return nil }
        return String(cString: item.assumingMemoryBound(to: CChar.self))
    }
}
