/// What a desktop's virtual machine has: processors, memory and the console devices the
/// domain XML carries. Resolved from the template's defaults and the pool's `desktop:`
/// overrides (`DesktopSettings`, which ConfigPolicy files change), and written into each
/// desktop's domain definition by the hypervisor.
public struct DesktopHardware: Sendable, Hashable, Codable {
    public enum Streaming: String, Sendable, Hashable, Codable, CaseIterable {
        /// No video stream detection: every update is sent as an image.
        case off
        /// Stream regions that change often (SPICE's default).
        case filter
        /// Stream every changing region.
        case all
    }

    public enum Compression: String, Sendable, Hashable, Codable, CaseIterable {
        case autoGLZ = "auto_glz", autoLZ = "auto_lz", quic, glz, lz, off
    }

    public var vcpus: Int
    public var memoryMiB: Int
    /// Displays the guest gets (the QXL video device's `heads`), 1-4.
    public var monitors: Int = 1
    /// A sound card whose output and input go through SPICE.
    public var audio: Bool = false
    /// Copy and paste between client and guest (SPICE agent channel `copypaste`).
    public var clipboard: Bool = true
    public var streaming: Streaming = .filter
    public var compression: Compression = .autoGLZ
    /// USB redirection devices (`redirdev` over SPICE) in the domain; none without.
    public var usbRedirection: Bool = false
    /// A smartcard device passed through SPICE; none without.
    public var smartcard: Bool = false

    public init(vcpus: Int, memoryMiB: Int, monitors: Int = 1, audio: Bool = false, clipboard: Bool = true,
                streaming: Streaming = .filter, compression: Compression = .autoGLZ, usbRedirection: Bool = false, smartcard: Bool = false) {
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.monitors = monitors
        self.audio = audio
        self.clipboard = clipboard
        self.streaming = streaming
        self.compression = compression
        self.usbRedirection = usbRedirection
        self.smartcard = smartcard
    }

    /// The template's defaults with the pool's overrides; USB redirection and smartcard
    /// devices follow the pool's console policy.
    public init(template: TemplateDefinition, pool: PoolSpec? = nil) {
        let settings = pool?.desktop ?? DesktopSettings()
        self.init(vcpus: settings.vcpus ?? template.vcpus, memoryMiB: settings.memoryMiB ?? template.memoryMiB,
                  monitors: settings.monitors ?? 1, audio: settings.audio ?? false, clipboard: settings.clipboard ?? true,
                  streaming: settings.streaming ?? .filter, compression: settings.compression ?? .autoGLZ,
                  usbRedirection: pool?.console.usbRedirection ?? false, smartcard: pool?.console.smartcard ?? false)
    }
}

/// A pool's overrides of its template's hardware (`desktop:` in a pool file, and what a
/// ConfigPolicy sets). Nil keeps the template's value (or Deskpool's default).
public struct DesktopSettings: Sendable, Hashable, Codable {
    public var vcpus: Int?
    public var memoryMiB: Int?
    public var monitors: Int?
    public var audio: Bool?
    public var clipboard: Bool?
    public var streaming: DesktopHardware.Streaming?
    public var compression: DesktopHardware.Compression?

    public init(vcpus: Int? = nil, memoryMiB: Int? = nil, monitors: Int? = nil, audio: Bool? = nil, clipboard: Bool? = nil,
                streaming: DesktopHardware.Streaming? = nil, compression: DesktopHardware.Compression? = nil) {
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.monitors = monitors
        self.audio = audio
        self.clipboard = clipboard
        self.streaming = streaming
        self.compression = compression
    }

    /// Values of `other` where it sets them, ours elsewhere.
    public func overlaid(with other: DesktopSettings) -> DesktopSettings {
        DesktopSettings(vcpus: other.vcpus ?? vcpus, memoryMiB: other.memoryMiB ?? memoryMiB, monitors: other.monitors ?? monitors,
                        audio: other.audio ?? audio, clipboard: other.clipboard ?? clipboard,
                        streaming: other.streaming ?? streaming, compression: other.compression ?? compression)
    }
}

extension DesktopSettings {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case vcpus, memoryMiB, monitors, audio, clipboard, streaming, compression
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "desktop")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vcpus = try c.decodeBounded(.vcpus, 1...256)
        memoryMiB = try c.decodeBounded(.memoryMiB, 64...(4 << 20))
        monitors = try c.decodeBounded(.monitors, 1...4)
        audio = try c.decodeIfPresent(Bool.self, forKey: .audio)
        clipboard = try c.decodeIfPresent(Bool.self, forKey: .clipboard)
        streaming = try c.decodeChoice(.streaming, "desktop.streaming")
        compression = try c.decodeChoice(.compression, "desktop.compression")
    }
}

extension KeyedDecodingContainer {
    /// An optional string that must be one of `T`'s raw values; the error lists them.
    func decodeChoice<T: RawRepresentable & CaseIterable>(_ key: Key, _ name: String) throws -> T? where T.RawValue == String {
        guard let text = try decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let value = T(rawValue: text) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw try superDecoder(forKey: key).invalid("\(name) must be one of \(allowed), not '\(text)'")
        }
        return value
    }
}
