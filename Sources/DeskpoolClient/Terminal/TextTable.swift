/// A plain-text table: a header row and aligned columns separated by two spaces, numbers
/// right-aligned, no trailing spaces. Widths count characters (grapheme clusters), which is
/// right for the names and states the API returns.
public struct TextTable: Sendable, Hashable {
    public enum Alignment: Sendable, Hashable { case left, right }

    public struct Column: Sendable, Hashable {
        public var title: String
        public var alignment: Alignment
        public init(_ title: String, _ alignment: Alignment = .left) {
            self.title = title
            self.alignment = alignment
        }
    }

    public var columns: [Column]
    public private(set) var rows: [[String]] = []

    public init(_ columns: [Column]) {
        self.columns = columns
    }

    /// Columns by title, all left-aligned.
    public init(_ titles: String...) {
        self.init(titles.map { Column($0) })
    }

    /// Adds a row; missing cells are empty and extra cells are dropped. Newlines and tabs in
    /// a cell become spaces so a row stays one line.
    public mutating func append(_ cells: [String]) {
        var row = cells.prefix(columns.count).map { cell in
            String(cell.map { $0.isNewline || $0 == "\t" ? " " : $0 })
        }
        row += Array(repeating: "", count: columns.count - row.count)
        rows.append(row)
    }

    public mutating func append(_ cells: String...) {
        append(cells)
    }

    /// The table as lines joined by newlines, with a final newline.
    public func render() -> String {
        let all = [columns.map(\.title)] + rows
        let widths = columns.indices.map { index in all.map { $0[index].count }.max() ?? 0 }
        let lastShown = columns.indices.last ?? 0
        var text = ""
        for row in all {
            var line = ""
            for index in columns.indices {
                let cell = row[index]
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                if index > 0 { line += "  " }
                switch columns[index].alignment {
                case .left: line += index == lastShown ? cell : cell + padding
                case .right: line += padding + cell
                }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            text += line + "\n"
        }
        return text
    }
}
