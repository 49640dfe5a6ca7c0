/// GatewayBench's command line: the stub run's `[--pin] [stream-MiB] [round-trips]
/// [repetitions]`, or `--capacity [CONSOLES]` with its mix, or `--display`/`--vnc` for a real
/// display.
struct Options {
    enum Mode {
        case stub
        case capacity(consoles: Int)
        case realDisplay
    }

    var mode = Mode.stub
    var pin = false
    var numbers: [Int] = []
    var connectsPerConsole = 7
    var webSocketsPerConsole = 1
    /// A real display's SPICE plain port and VNC port, as IPv4-ADDRESS:PORT.
    var spice: (host: String, port: Int)?
    var vnc: (host: String, port: Int)?
    var connections = 200

    static func parse(_ arguments: ArraySlice<String>) throws -> Options {
        var options = Options()
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let value = rest.popFirst() else { throw BenchFailure("\(flag) needs a value") }
            return value
        }
        func number(_ flag: String, minimum: Int = 1) throws -> Int {
            let text = try value(flag)
            guard let number = Int(text), number >= minimum else { throw BenchFailure("\(flag): '\(text)' is not a number >= \(minimum)") }
            return number
        }
        func address(_ flag: String) throws -> (host: String, port: Int) {
            let text = try value(flag)
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
                throw BenchFailure("\(flag): '\(text)' is not HOST:PORT")
            }
            return (String(text[..<colon]), port)
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--pin": options.pin = true
            case "--capacity":
                // The number is optional: 4,000 consoles unless one follows.
                let consoles = rest.first.flatMap { Int($0) }
                if consoles != nil { rest = rest.dropFirst() }
                options.mode = .capacity(consoles: max(1, consoles ?? 4000))
            case "--connects-per-console": options.connectsPerConsole = try number(argument, minimum: 0)
            case "--websockets-per-console": options.webSocketsPerConsole = try number(argument, minimum: 0)
            case "--display": options.spice = try address(argument); options.mode = .realDisplay
            case "--vnc": options.vnc = try address(argument); options.mode = .realDisplay
            case "--connections": options.connections = try number(argument)
            default:
                guard let number = Int(argument) else { throw BenchFailure("unknown argument \(argument)") }
                options.numbers.append(number)
            }
        }
        guard options.connectsPerConsole + options.webSocketsPerConsole > 0 else { throw BenchFailure("a console needs at least one tunnel") }
        return options
    }
}
