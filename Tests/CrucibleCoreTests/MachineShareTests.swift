import CrucibleTestSupport
import Testing

/// The `.compute` share runs its tests off the cooperative pool, so that seconds of computation there do not hold a pool
/// thread the other tests' coordinators and agents need.
@Suite struct MachineShareTests {
    @Test(.compute) func computeTestsRunOnAThreadOfTheirOwn() async {
        #expect(isOnThreadOfItsOwn())
        // And so do their child tasks (an unstructured `Task {}` does not inherit the preference: SE-0417).
        async let child = isOnThreadOfItsOwn()
        #expect(await child)
        let grouped = await withTaskGroup(of: Bool.self) { group in
            group.addTask { isOnThreadOfItsOwn() }
            return await group.next() ?? false
        }
        #expect(grouped)
    }

    @Test(.network) func otherTestsRunOnThePool() async {
        #expect(!isOnThreadOfItsOwn())
    }
}
