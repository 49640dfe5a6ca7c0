import DeskpoolCore
import Foundation

extension ConfigOptions {
    /// The configuration to use: the given file, else the default file if it exists, else
    /// the built-in defaults. A bad file is an error, never silently replaced by defaults.
    func load() throws(ConfigurationError) -> (DeskpoolConfiguration, source: String) {
        if let config {
            return (try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, file: config), config)
        }
        if FileManager.default.fileExists(atPath: DeskpoolConfiguration.defaultPath) {
            let path = DeskpoolConfiguration.defaultPath
            return (try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, file: path), path)
        }
        return (DeskpoolConfiguration(), "built-in defaults")
    }
}
