@testable import DeskpoolClient
import DeskpoolCore
import Foundation
import Testing

@Suite struct ProgressTests {
    @Test(arguments: [
        (0, 5, "[..........] 0/5 ready"),
        (3, 5, "[######....] 3/5 ready"),
        (5, 5, "[##########] 5/5 ready"),
        (7, 5, "[##########] 7/5 ready"),
        (0, 0, "[##########] 0/0 ready"),
    ])
    func barFillsInProportion(done: Int, total: Int, expected: String) {
        #expect(ProgressBar().render(done: done, total: total, detail: "\(done)/\(total) ready") == expected)
    }

    @Test func timeBarIsNeverFullBeforeTheEnd() {
        let bar = ProgressBar(width: 10)
        #expect(bar.render(elapsed: 0, estimate: 40, detail: "") == "[..........]")
        #expect(bar.render(elapsed: 20, estimate: 40, detail: "") == "[#####.....]")
        #expect(bar.render(elapsed: 90, estimate: 40, detail: "x") == "[#########.] x")
    }

    static func pool(min: Int = 0, max: Int = 10, spare: Int, _ capacity: (inout PoolCapacity) -> Void) -> PoolView {
        var c = PoolCapacity()
        capacity(&c)
        return PoolView(spec: PoolSpec(name: "tiny", template: "tiny-linux", min: min, max: max, spare: spare), capacity: c)
    }

    @Test func readinessLine() {
        let pool = Self.pool(spare: 5) { $0.ready = 3; $0.provisioning = 2; $0.total = 5 }
        #expect(PoolReadiness(pool).line() == "[######....] 3/5 ready, 2 provisioning")
        #expect(!PoolReadiness(pool).isReached)
        let failing = Self.pool(spare: 2) { $0.ready = 1; $0.failed = 1 }
        #expect(PoolReadiness(failing).line() == "[#####.....] 1/2 ready, 1 failed")
    }

    @Test func readinessTargetFollowsTheReconciler() {
        // min above spare: the pool keeps min desktops, all ready when nobody uses them.
        #expect(PoolReadiness(Self.pool(min: 4, spare: 1) { _ in }).target == 4)
        // Users hold 3: spare 2 on top, min 4 already met.
        #expect(PoolReadiness(Self.pool(min: 4, spare: 2) { $0.assigned = 1; $0.connected = 2 }).target == 2)
        // max caps it: 9 held, max 10, spare 3 -> 1 ready.
        #expect(PoolReadiness(Self.pool(max: 10, spare: 3) { $0.connected = 9 }).target == 1)
        // Scaled down to zero spares: reached when the ready ones are gone.
        #expect(PoolReadiness(Self.pool(spare: 0) { $0.ready = 0 }).isReached)
        #expect(!PoolReadiness(Self.pool(spare: 0) { $0.ready = 2 }).isReached)
    }

    @Test func redrawOnATerminalPlainLinesOtherwise() {
        #expect(ProgressLine.output(for: "[#...] 1/4", previous: nil, redraw: true) == "\r[#...] 1/4\u{1B}[K")
        #expect(ProgressLine.output(for: "[#...] 1/4", previous: nil, redraw: false) == "[#...] 1/4\n")
        #expect(ProgressLine.output(for: "[#...] 1/4", previous: "[#...] 1/4", redraw: false) == nil)
    }

    @Test func preparingPollsAtMostEveryTwoSeconds() {
        #expect(PreparingProgress.pollDelay(retryAfterSeconds: 1, estimateSeconds: 40) == .seconds(1))
        #expect(PreparingProgress.pollDelay(retryAfterSeconds: 10, estimateSeconds: 40) == .seconds(2))
        #expect(PreparingProgress.pollDelay(retryAfterSeconds: nil, estimateSeconds: 40) == .seconds(2))
        #expect(PreparingProgress.pollDelay(retryAfterSeconds: 0, estimateSeconds: 0) == .milliseconds(500))
    }

    @Test func preparingLine() {
        let desktop = DesktopView(Desktop(id: "d1", name: "tiny-003", pool: "tiny", host: "local", template: "tiny-linux", version: 1,
                                          state: .starting, createdAt: Date()))
        let answer = PreparingAnswer(desktop: desktop, estimateSeconds: 30, poll: "/api/v1/pools/tiny/desktop")
        #expect(PreparingProgress.line(answer, elapsedSeconds: 10) == "[##........] preparing tiny-003 (starting), about 30 s left")
        var late = answer
        late.estimateSeconds = 0
        #expect(PreparingProgress.line(late, elapsedSeconds: 50) == "[#########.] preparing tiny-003 (starting), any moment now")
    }
}
