// Define + start + destroy + undefine cycles on libvirt's test driver over one kept
// connection, through the `Libvirt` Swift API, two ways:
//   executor: the cycles run on `LibvirtExecutor.shared`, so each call runs in place (how
//             the broker runs a sequence of libvirt calls);
//   hop:      the cycles run on Swift's cooperative pool, so each call hops to a libvirt
//             thread and back.
// scripts/bench-libvirt runs it next to python3-libvirt and virsh.
//
//   LibvirtBench [cycles] [domain-xml-file]
import Foundation
import Libvirt

let arguments = CommandLine.arguments
let cycles = arguments.count > 1 ? Int(arguments[1]) ?? 2000 : 2000
let xmlTemplate: String
if arguments.count > 2 {
    xmlTemplate = try String(contentsOfFile: arguments[2], encoding: .utf8)
} else {
    xmlTemplate = "<domain type='test'><name>NAME</name><memory>65536</memory><os><type>hvm</type></os></domain>"
}

let connection = try await Connection.open("test:///default")

// Split once, so each cycle only interpolates the name (python's str.replace is C).
let nameRange = xmlTemplate.range(of: "NAME")!
let (xmlHead, xmlTail) = (String(xmlTemplate[..<nameRange.lowerBound]), String(xmlTemplate[nameRange.upperBound...]))

func cycle(_ index: Int) async throws {
    let domain = try await connection.defineDomain(xml: "\(xmlHead)bench-\(index)\(xmlTail)")
    try await domain.start()
    try await domain.destroy()
    try await domain.undefine()
}

func measure(_ mode: String) async throws {
    for index in 0..<min(100, cycles) { try await cycle(index) }  // warm-up
    let elapsed = try await ContinuousClock().measure {
        for index in 0..<cycles { try await cycle(index) }
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print(String(format: "mode=%@ cycles=%d total_s=%.3f ms_per_cycle=%.4f", mode, cycles, seconds, seconds * 1000 / Double(cycles)))
}

try await withTaskExecutorPreference(LibvirtExecutor.shared) { try await measure("executor") }
try await measure("hop")
await connection.close()
