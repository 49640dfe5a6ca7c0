import BenchSupport
// The broker benchmarks, run by scripts/bench-refill and scripts/bench-scale:
//
//   BrokerBench xml --template DIR --domain-type qemu --name NAME --volume PATH
//       prints the domain XML Deskpool renders for a desktop (for the python3-libvirt floor)
//   BrokerBench refill --uri qemu:///system --storage-pool P --image FILE --template DIR
//                      --state-dir DIR --count N --concurrency C [--hold-probes 1] [--wait-ready 0]
//       fills a pool of N desktops through the reconciler; prints started_s and ready_s
//   BrokerBench scale --dir DIR --template DIR [--hosts 10] [--per-host 1000] [--passes 7]
//                     [--build hypervisor|raw] [--profile 1]
//       builds hosts x per-host desktops on test-driver hosts and times steady-state passes
//       (--profile times the pieces of a pass and the memory each leaves behind)
//   BrokerBench replica-setup --dir DIR --template DIR --store postgres://... --password-file F
//                             [--hosts 50] [--per-host 400]
//       writes the test-driver node files (desktops in them) and the same desktops into the store
//   BrokerBench replica --dir DIR --store postgres://... --password-file F --replica NAME
//                       [--replicas 3] [--hosts 50] [--passes 7] [--lease 5]
//       one broker replica on those hosts (through libvirtd): shares the work by leases, then
//       times steady-state passes and the statements each sends to PostgreSQL
//   BrokerBench console --uri qemu:///system --storage-pool P --image FILE --template DIR
//                       --state-dir DIR [--desktops 4] [--sequential 200] [--concurrent 50]
//       time to console (request -> .vv) vs libvirt's live graphics update on the same desktops
//   BrokerBench time-to-desktop --uri qemu:///system --storage-pool P --image FILE --template DIR
//                               --state-dir DIR [--users 4] [--idle 10]
//       N users at once on a pool of running spares, of saved spares, and of none; a fresh boot
//
// Machine-readable results are `key=value` lines on standard output; progress goes to
// standard error.
import Foundation

let mode = CommandLine.arguments.dropFirst().first ?? ""
let arguments = Arguments(CommandLine.arguments.dropFirst(2))
do {
    switch mode {
    case "xml": try renderXML(arguments)
    case "refill": try await RefillBench(arguments).run()
    case "scale": try await ScaleBench(arguments).run()
    case "console": try await ConsoleBench(arguments).run()
    case "time-to-desktop": try await TimeToDesktopBench(arguments).run()
    case "replica-setup": try await ReplicaScaleSetup(arguments).run()
    case "replica": try await ReplicaScaleRun(arguments).run()
    default:
        FileHandle.standardError.write(Data("usage: BrokerBench xml|refill|scale|console|time-to-desktop|replica-setup|replica [--key value ...] (see main.swift)\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("BrokerBench \(mode): \(error)\n".utf8))
    exit(1)
}
