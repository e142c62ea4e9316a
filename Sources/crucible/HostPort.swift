import ArgumentParser

/// "HOST:PORT" as given to --listen.
struct HostPort: ExpressibleByArgument {
    var host: String
    var port: Int

    init?(argument: String) {
        guard let colon = argument.lastIndex(of: ":"), let port = Int(argument[argument.index(after: colon)...]),
              (0...65535).contains(port), colon != argument.startIndex
        else { return nil }
        host = String(argument[..<colon])
        self.port = port
    }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}
