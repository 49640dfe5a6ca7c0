public import Foundation

/// A published, immutable version of a template: a read-only base volume in each host's
/// storage pool, numbered from 1, with a note.
public struct TemplateVersion: Sendable, Hashable, Codable {
    public var template: String
    public var number: Int
    /// The base volume's name in the storage pool (the same on every host).
    public var volume: String
    public var note: String
    public var createdAt: Date
    public var createdBy: String
    /// False while the image is being imported (the record is written first, so a crash
    /// during the import is found and cleaned up); only published versions are used.
    public var published: Bool

    public init(template: String, number: Int, volume: String, note: String, createdAt: Date, createdBy: String, published: Bool = true) {
        self.template = template
        self.number = number
        self.volume = volume
        self.note = note
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.published = published
    }

    /// Base volumes are versioned by name (qemu holds a lock on a base image while its clones
    /// run, so a version is never replaced in place).
    public static func volumeName(template: String, number: Int) -> String {
        "dp-base-\(template)-v\(number).qcow2"
    }
}
