/// A `.vv` connection file in virt-viewer's format (a GLib key file, group `[virt-viewer]`),
/// built from a console grant and the pool's console policy. remote-viewer opens it and
/// deletes it (`delete-this-file=1`), since it holds a password.
///
/// Every value is sanitized: control characters (a newline would start a new key) become
/// spaces and backslashes are escaped, so a hostile name can only change its own value.
public struct VirtViewerFile: Sendable, Hashable {
    /// Served with this media type; browsers hand it to remote-viewer.
    public static let mediaType = "application/x-virt-viewer"

    /// The file's keys in order.
    public private(set) var entries: [(key: String, value: String)] = []

    public static func == (lhs: VirtViewerFile, rhs: VirtViewerFile) -> Bool { lhs.text == rhs.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }

    /// SPICE over TLS: the CA that signed the host's certificate (PEM) and the certificate's
    /// subject, which the client checks.
    public struct TLS: Sendable, Hashable {
        public var caPEM: String
        public var hostSubject: String
        public init(caPEM: String, hostSubject: String) {
            self.caPEM = caPEM
            self.hostSubject = hostSubject
        }
    }

    /// - Parameters:
    ///   - host: the hypervisor's console address, or a connect token when `proxy` is set.
    ///   - port: the plain SPICE port (nil: TLS only).
    ///   - tlsPort: with `tls`, the TLS port; every channel is then required to use it.
    public init(host: String, port: Int?, tlsPort: Int?, password: ConsoleTicket, desktop: String, pool: String,
                policy: ConsoleSettings, proxy: String?, tls: TLS?) {
        add("type", "spice")
        add("host", host)
        let secure = tls != nil && tlsPort != nil
        // With TLS every channel is secure: the plain port is left out, so nothing goes in clear.
        if let port, !secure { add("port", String(port)) }
        if let tlsPort, secure { add("tls-port", String(tlsPort)) }
        add("password", password.secret)
        add("title", "\(desktop) (\(pool)) - Deskpool")
        add("delete-this-file", "1")
        add("fullscreen", policy.fullscreen ? "1" : "0")
        add("toggle-fullscreen", policy.toggleFullscreenKey)
        add("release-cursor", policy.releaseCursorKey)
        add("secure-attention", policy.secureAttentionKey)
        add("enable-usbredir", policy.usbRedirection ? "1" : "0")
        if policy.usbRedirection {
            add("enable-usb-autoshare", policy.usbAutoShare ? "1" : "0")
            add("usb-filter", policy.usbFilter)
        }
        add("enable-smartcard", policy.smartcard ? "1" : "0")
        if let tls, secure {
            add("secure-channels", SpiceChannel.allCases.map(\.name).joined(separator: ";"))
            add("ca", tls.caPEM)
            add("host-subject", tls.hostSubject)
        }
        if let proxy { add("proxy", proxy) }
    }

    /// The file's text.
    public var text: String {
        "[virt-viewer]\n" + entries.map { "\($0.key)=\($0.value)\n" }.joined()
    }

    /// A download name for the desktop: `deskpool-NAME.vv`, with only safe characters.
    public static func fileName(desktop: String) -> String {
        let safe = String(desktop.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") ? $0 : "_" }.prefix(64))
        return "deskpool-\(safe.isEmpty ? "desktop" : safe).vv"
    }

    private mutating func add(_ key: String, _ value: String) { entries.append((key, Self.sanitized(value))) }

    /// GLib key-file escaping: `\` doubles, a newline in the CA becomes `\n`; any other control
    /// character becomes a space. A value can never span lines.
    static func sanitized(_ value: String) -> String {
        var result = ""
        result.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": continue
            default:
                if scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" {
                    result += " "
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }
}
