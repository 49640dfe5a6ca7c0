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

    /// Whether `text` is on one line of the OCR output, allowing the slips tesseract makes on
    /// a console font: spaces inserted inside a word ("282479f 9"), a hyphen read as a dash,
    /// and one misread letter per 12 characters ("beskpool" for "Deskpool"; seen in CI). A
    /// different word of the text is more than that, so the check still tells texts apart.
    ///
    /// Glyphs tesseract takes for one another (O and 0, Z and 2, ? and 7 ...: "dpeZe-54f
    /// 5cOd?-pO01" for "dpe2e-54f5c0d7-p01", seen in CI) are folded alike on both sides first.
    public static func line(of screen: String, shows text: String) -> Bool {
        let wanted = Array(folded(normalized(text)))
        let allowed = max(1, wanted.count / 12)
        return screen.split(separator: "\n").contains { approximateDistance(of: wanted, in: Array(folded(normalized(String($0))))) <= allowed }
    }

    /// Confusable glyphs as one: O, o, Q as 0; Z, z as 2; I, l, | as 1; S as 5; B as 8; ? as 7.
    public static func folded(_ text: String) -> String {
        let map: [Character: Character] = ["O": "0", "o": "0", "Q": "0", "Z": "2", "z": "2", "I": "1", "l": "1", "|": "1",
                                           "S": "5", "B": "8", "?": "7"]
        return String(text.map { map[$0] ?? $0 })
    }

    /// The fewest edits that turn `pattern` into some substring of `text` (Sellers' algorithm:
    /// Levenshtein distance where the match may start and end anywhere in `text`).
    public static func approximateDistance(of pattern: [Character], in text: [Character]) -> Int {
        guard !pattern.isEmpty else { return 0 }
        var column = Array(0...pattern.count)  // distances for text prefix ending here
        var best = column[pattern.count]
        for character in text {
            var previousDiagonal = column[0]
            column[0] = 0  // a match may start at any position of the text
            for i in 1...pattern.count {
                let substitution = previousDiagonal + (pattern[i - 1] == character ? 0 : 1)
                previousDiagonal = column[i]
                column[i] = min(substitution, column[i] + 1, column[i - 1] + 1)
            }
            best = min(best, column[pattern.count])
        }
        return best
    }

    public static func normalized(_ text: String) -> String {
        String(text.compactMap { character -> Character? in
            if character.isWhitespace { return nil }
            return character == "\u{2014}" || character == "\u{2013}" ? "-" : character
        })
    }
}
