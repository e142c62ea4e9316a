import Foundation

/// The files `crucible devnet` writes into its data folder: the demo jobs' specs and inputs, and the agents'
/// policies. They are ordinary files, so a newcomer can read them, edit them and submit them again by hand.
enum DevnetDemo {
    struct NodeSetup {
        var index: Int
        var operatorName: String
        var askPerCpuCoreHour: String
    }

    static func nodes(count: Int) -> [NodeSetup] {
        // Two operators, so that replicas always have a node of another operator to run on; rising asks, so that
        // the cheapest-first matching is visible in who gets the work.
        (1...count).map { index in
            NodeSetup(index: index, operatorName: index % 2 == 1 ? "operator-a" : "operator-b", askPerCpuCoreHour: String(format: "%.2f", 1.0 + 0.25 * Double(index)))
        }
    }

    static func policy(_ node: NodeSetup) -> String {
        """
        # Policy of devnet node \(node.index): what it asks and which offers it takes.
        askPerGpuHour: 2.5
        askPerCpuCoreHour: \(node.askPerCpuCoreHour)
        minPricePerHour: 0.5
        allowedKinds: [batch, render]     # render needs Blender; without it the agent registers batch only
        maxConcurrentRuns: 2

        """
    }

    /// (file name, YAML) of each demo job. `replicate` is false when there is only one operator to run on; `gang` is
    /// false when there is only one node; `render` is true when Blender is installed (the scene is made with it).
    static func specs(replicate: Bool, gang: Bool, render: Bool) -> [(String, String)] {
        let verifyAll = replicate ? "{policy: replicate, sampleRate: 1.0}" : "{policy: none}"
        let verifyHalf = replicate ? "{policy: replicate, sampleRate: 0.5}" : "{policy: none}"
        let gangSpec = ("gang.yaml", """
            # One task on two nodes at once, as distributed training runs: the coordinator places both members together
            # on nodes whose agents measured the link between them, starts them when both have accepted, and hands each
            # its rank and every member's address (rank 0's is the rendezvous, also in MASTER_ADDR and MASTER_PORT).
            name: gang
            command: sh
            args:
              - -c
              - |
                echo "rank {rank} of {worldSize}: rendezvous {masterAddr}:{masterPort}, peers $CRUCIBLE_PEERS"
                echo "$CRUCIBLE_PEERS" > "$CRUCIBLE_OUTPUT_DIR/peers-{rank}.txt"
            tasks: 1
            resources: {gpus: 0, cpuCores: 1, memoryMiB: 64}
            maxPricePerHour: 2.0
            maxDuration: 1m
            verification: {policy: none}
            cluster: {nodes: 2, roundTripMs: 100}

            """)
        let renderSpec = ("turntable.yaml", """
            # Three frames of a turning monkey (scene.blend, made by Blender when devnet starts), rendered with Cycles on
            # the CPU, one frame per task. Every frame is checked: a node of the other operator re-renders a random crop
            # (1/16 of the frame) with the same seed and settings, and the coordinator compares it with the frame, pixel
            # by pixel (`crucible job show` prints each comparison).
            name: turntable
            kind: render
            command: scene.blend
            inputs: [scene.blend]
            render: {frames: 1-3, resolution: 160x120, samples: 16, seed: 0}
            resources: {gpus: 0, cpuCores: 1, memoryMiB: 1024}
            maxPricePerHour: 2.0
            maxDuration: 2m
            verification: \(verifyAll)

            """)
        return (render ? [renderSpec] : []) + (gang ? [gangSpec] : []) + [
            ("hash-chain.yaml", """
            # Each task hashes its seed 400 times in a chain: deterministic work whose result a replica must match.
            name: hash-chain
            command: sh
            args:
              - -c
              - |
                x="crucible-seed-{index}"
                i=0
                while [ $i -lt 400 ]; do x=$(printf '%s' "$x" | sha256sum | cut -c1-64); i=$((i+1)); done
                echo "task {index}: $x"
                echo "$x" > "$CRUCIBLE_OUTPUT_DIR/chain-{index}.txt"
            tasks: 3
            resources: {gpus: 0, cpuCores: 1, memoryMiB: 128}
            maxPricePerHour: 2.0
            maxDuration: 2m
            verification: \(verifyAll)

            """),
            ("word-count.yaml", """
            # Splits a text across 4 tasks by line number and counts the words of each share.
            name: word-count
            command: sh
            args:
              - -c
              - |
                awk -v i={index} -v n={count} 'NR % n == i' corpus.txt | wc -w | tr -d ' ' > "$CRUCIBLE_OUTPUT_DIR/words-{index}.txt"
                echo "task {index} of {count}: $(cat "$CRUCIBLE_OUTPUT_DIR/words-{index}.txt") words"
            inputs: [corpus.txt]
            tasks: 4
            resources: {gpus: 0, cpuCores: 1, memoryMiB: 128}
            maxPricePerHour: 2.0
            maxDuration: 1m
            verification: \(verifyHalf)

            """),
            ("primes.yaml", """
            # Counts primes in a range per task by trial division (awk), no replication.
            name: primes
            command: awk
            args:
              - -v
              - task={index}
              - -v
              - out=primes-{index}.txt
              - |
                BEGIN {
                  lo = task * 100000; hi = lo + 60000; count = 0
                  for (n = (lo < 2 ? 2 : lo); n < hi; n++) {
                    prime = 1
                    for (d = 2; d * d <= n; d++) if (n % d == 0) { prime = 0; break }
                    count += prime
                  }
                  print "primes in [" lo ", " hi "): " count
                  print count > (ENVIRON["CRUCIBLE_OUTPUT_DIR"] "/" out)
                }
            tasks: 2
            resources: {gpus: 0, cpuCores: 1, memoryMiB: 64}
            maxPricePerHour: 2.0
            maxDuration: 2m
            verification: {policy: none}

            """),
        ]
    }

    /// A public-domain-style text for the word count: generated, so it needs no download.
    static func corpus() -> String {
        let words = ["gpu", "render", "tensor", "proof", "ledger", "escrow", "node", "frame", "kernel", "matrix", "verify", "stake"]
        var state: UInt64 = 0x5eed
        var lines = [String]()
        for _ in 0..<400 {
            var line = [String]()
            for _ in 0..<(8 + Int(state % 7)) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                line.append(words[Int(state >> 33) % words.count])
            }
            lines.append(line.joined(separator: " "))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
