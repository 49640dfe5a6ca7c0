import DeskpoolCore
import Foundation
import Testing

/// Opening image files for an import: the import directory's rules on real files, and real
/// hostile images made by qemu-img.
@Suite("Opened images")
struct OpenedImageTests {
    static let limits = ImageImportConfiguration(importDirectory: "/unused", uploadDirectory: "/unused",
                                                 maxImageBytes: 64 << 20, maxVirtualBytes: 1 << 30)

    /// A fresh directory, removed after `body`.
    static func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-images-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    static func qemuImg(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-img")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw RigFailure("qemu-img \(arguments.joined(separator: " ")) failed") }
    }

    struct RigFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test("the import directory: regular files only, one name, no symlink even to inside; the descriptor is read")
    func importDirectory() throws {
        try Self.withDirectory { directory in
            let image = directory + "/good.img"
            try Data(repeating: 7, count: 4096).write(to: URL(fileURLWithPath: image))
            let opened = try OpenedImage.open(name: "good.img", inDirectory: directory, limits: Self.limits)
            #expect(opened.facts == ImageInspector.Facts(format: .raw, virtualBytes: 4096, fileBytes: 4096))
            // The descriptor keeps what was inspected, whatever happens to the name.
            try FileManager.default.removeItem(atPath: image)
            var byte: UInt8 = 0
            #expect(pread(opened.descriptor, &byte, 1, 4095) == 1 && byte == 7)

            try Data(repeating: 1, count: 4096).write(to: URL(fileURLWithPath: directory + "/inside.img"))
            try FileManager.default.createSymbolicLink(atPath: directory + "/link-inside.img", withDestinationPath: directory + "/inside.img")
            try FileManager.default.createSymbolicLink(atPath: directory + "/zero.img", withDestinationPath: "/dev/zero")
            try FileManager.default.createSymbolicLink(atPath: directory + "/passwd.img", withDestinationPath: "/etc/passwd")
            try FileManager.default.createDirectory(atPath: directory + "/sub.img", withIntermediateDirectories: false)
            #expect(mkfifo(directory + "/fifo.img", 0o600) == 0)
            let cases: [(String, DeskpoolError.Code, String)] = [
                ("link-inside.img", .invalidInput, "is a symbolic link"),
                ("zero.img", .invalidInput, "is a symbolic link"),
                ("passwd.img", .invalidInput, "is a symbolic link"),
                ("sub.img", .invalidInput, "is a directory"),
                ("fifo.img", .invalidInput, "is a FIFO"),
                ("missing.img", .notFound, "no file missing.img"),
                ("../etc/passwd", .invalidInput, "must be the name of a file"),
                ("..", .invalidInput, "must be the name of a file"),
                (".", .invalidInput, "must be the name of a file"),
                ("a/b", .invalidInput, "must be the name of a file"),
                (".hidden", .invalidInput, "must be the name of a file"),
                (String(repeating: "a", count: 129), .invalidInput, "must be the name of a file"),
                ("", .invalidInput, "must be the name of a file"),
            ]
            for (name, code, words) in cases {
                let started = ContinuousClock.now
                let error = #expect(throws: DeskpoolError.self) { _ = try OpenedImage.open(name: name, inDirectory: directory, limits: Self.limits) }
                #expect(error?.code == code && error?.message.contains(words) == true && error?.field == "importFile", "\(name): \(error.map { "\($0)" } ?? "")")
                #expect(ContinuousClock.now - started < .seconds(1), "a FIFO must not block the open")
            }
        }
    }

    @Test("a device, even by root's path, is refused; so is a /proc file (size 0)")
    func devices() throws {
        for (path, words) in [("/dev/zero", "is a character device"), ("/dev/null", "is a character device"), ("/proc/self/status", "is empty")] {
            let error = #expect(throws: DeskpoolError.self) { _ = try OpenedImage.open(path: path, limits: Self.limits) }
            #expect(error?.code == .invalidInput && error?.message.contains(words) == true, "\(path): \(error.map { "\($0)" } ?? "")")
        }
    }

    @Test("hostile images made by qemu-img: a backing file on a host file, an external data file; a clean one passes")
    func hostileImages() throws {
        // qemu-utils is one of Deskpool's run-time packages (scripts/demo, .ci/run install it).
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-img"), "needs qemu-img (package qemu-utils)")
        try Self.withDirectory { directory in
            try Self.qemuImg(["create", "-f", "qcow2", directory + "/clean.qcow2", "64M"])
            try Self.qemuImg(["create", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", directory + "/backed.qcow2", "64M"])
            try Self.qemuImg(["create", "-f", "qcow2", "-o", "data_file=\(directory)/data.raw", directory + "/datafile.qcow2", "64M"])
            try Self.qemuImg(["create", "-f", "qcow2", directory + "/huge.qcow2", "2T"])
            try Self.qemuImg(["create", "-f", "vmdk", directory + "/disk.vmdk", "64M"])

            let clean = try OpenedImage.open(name: "clean.qcow2", inDirectory: directory, limits: Self.limits)
            #expect(clean.facts.format == .qcow2 && clean.facts.virtualBytes == 64 << 20)
            for (name, code, words) in [("backed.qcow2", DeskpoolError.Code.invalidInput, "has a backing file"),
                                        ("datafile.qcow2", .invalidInput, "has an external data file"),
                                        ("huge.qcow2", .tooLarge, "virtual size 2 TiB is over images.maxVirtualBytes (1 GiB)"),
                                        ("disk.vmdk", .invalidInput, "looks like a vmdk image")] {
                let error = #expect(throws: DeskpoolError.self) { _ = try OpenedImage.open(name: name, inDirectory: directory, limits: Self.limits) }
                #expect(error?.code == code && error?.message.contains(words) == true, "\(name): \(error.map { "\($0)" } ?? "")")
            }
            // Root's path goes through the same inspection.
            let error = #expect(throws: DeskpoolError.self) { _ = try OpenedImage.open(path: directory + "/backed.qcow2", limits: Self.limits) }
            #expect(error?.message.contains("has a backing file") == true)
        }
    }
}
