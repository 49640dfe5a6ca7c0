/// Deskpool's PAM service file, as shipped in etc/pam.d/deskpool (a test keeps the two the
/// same) and installed by `deskpool doctor --fix`.
public enum PAMServiceFile {
    public static let contents = """
        # PAM service for Deskpool logins (installed as /etc/pam.d/deskpool).
        # Users log in with their system account: pam_unix checks the password and whether the
        # account may log in now (expired, locked), and changes an expired password in the login
        # (the portal, the CLI and the API ask for the new one). Replace these lines to use your
        # directory (pam_sss for FreeIPA/AD, pam_ldap, ...); add a second factor after the password
        # (docs/operations.md, "Second factors"): every prompt reaches the user.
        auth     required pam_unix.so
        account  required pam_unix.so
        password required pam_unix.so obscure yescrypt

        """

    /// Where libpam looks for service files, in order.
    public static let searchDirectories = ["/etc/pam.d", "/usr/lib/pam.d"]
}
