import CrucibleCore

/// Runs `body` again while the coordinator cannot take it yet — no connection (a network cut), `503 unavailable`
/// while its database restarts, or `429 rate_limited` — waiting longer each time (a quarter second, doubling to five,
/// or the Retry-After the coordinator gave), for up to `window`. A refusal, or the error once the window has passed,
/// goes up.
func whileUnreachable<T>(
    for window: Duration, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
) async throws -> T {
    let deadline = ContinuousClock.now + window
    var delayMs = 250
    while true {
        do {
            return try await body()
        } catch let error where isWorthRetrying(error) && ContinuousClock.now < deadline {
            let askedMs = ((error as? CrucibleError)?.retryAfterS ?? 0) * 1_000
            try await Task.sleep(for: .milliseconds(max(delayMs, askedMs)))
            delayMs = min(delayMs * 2, 5_000)
        }
    }
}

/// Whether `error` says the coordinator could not take the request now rather than that it refused it.
func isWorthRetrying(_ error: any Error) -> Bool {
    guard let refusal = error as? CrucibleError else { return !(error is CancellationError) }
    return refusal.code == .unavailable || refusal.code == .rateLimited
}
