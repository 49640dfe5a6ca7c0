import Foundation

/// Reads the text on a console screenshot with tesseract (`apt-get install tesseract-ocr`).
///
/// tesseract reads PNG and PPM itself (through leptonica), so the image goes as it is: no
/// ImageMagick. Measured on the tiny guest's 720x400 text console: inverting or enlarging
/// the picture made the reading worse, not better.
public enum ScreenOCR {
    public static let tesseract = "/usr/bin/tesseract"

    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: tesseract) }

    /// The text tesseract finds on the image, one screen line per line.
    public static func text(mimeType: String, data: [UInt8]) throws -> String {
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("deskpool-ocr-\(UUID().uuidString).\(mimeType.contains("png") ? "png" : "ppm")")
        try Data(data).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        // psm 6: one uniform block of text, like a console; "quiet" silences tesseract's notes.
        let output = try Command.output(tesseract, [file.path, "stdout", "--psm", "6", "quiet"])
        return String(decoding: output, as: UTF8.self)
    }

    /// Whether `text` is on one line of the OCR output, allowing only the slips tesseract
    /// makes on a console font without changing a character: spaces inserted inside a word
    /// ("282479f 9") and a hyphen read as a dash.
    public static func line(of screen: String, shows text: String) -> Bool {
        let wanted = normalized(text)
        return screen.split(separator: "\n").contains { normalized(String($0)).contains(wanted) }
    }

    public static func normalized(_ text: String) -> String {
        String(text.compactMap { character -> Character? in
            if character.isWhitespace { return nil }
            return character == "\u{2014}" || character == "\u{2013}" ? "-" : character
        })
    }
}
