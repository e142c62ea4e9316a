import Dispatch
import Foundation

/// SIGINT/SIGTERM and parent-exit watching for commands that run until stopped.
enum SignalWatch {
    final class Token: @unchecked Sendable {
        private let sources: [any DispatchSourceProtocol]
        init(_ sources: [any DispatchSourceProtocol]) { self.sources = sources }
        func cancel() { sources.forEach { $0.cancel() } }
    }

    static func onTermination(_ action: @escaping @Sendable () -> Void) -> Token {
        let sources = [SIGINT, SIGTERM].map { signalNumber -> any DispatchSourceProtocol in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler(handler: action)
            source.resume()
            return source
        }
        return Token(sources)
    }

    /// Calls `action` once the process `pid` is gone, so agents started by `devnet` never outlive it.
    static func whenProcessExits(_ pid: Int32, _ action: @escaping @Sendable () -> Void) {
        Task.detached {
            while kill(pid, 0) == 0 {
                try? await Task.sleep(for: .seconds(1))
            }
            action()
        }
    }
}
