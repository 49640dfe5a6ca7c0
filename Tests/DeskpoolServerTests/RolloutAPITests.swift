import DeskpoolCore
import DeskpoolServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("API: policies and rollouts")
struct RolloutAPITests {
    /// Every policy and rollout endpoint.
    static let endpoints: [(HTTPRequest.Method, String)] = [
        (.post, "/api/v1/admin/policies/validate"), (.post, "/api/v1/admin/policies/plan"), (.post, "/api/v1/admin/rollouts"),
        (.get, "/api/v1/admin/rollouts"), (.get, "/api/v1/admin/rollouts/x"), (.post, "/api/v1/admin/rollouts/x/pause"),
        (.post, "/api/v1/admin/rollouts/x/resume"), (.post, "/api/v1/admin/rollouts/x/cancel"), (.post, "/api/v1/admin/rollouts/x/rollback"),
    ]

    @Test("every policy and rollout endpoint: 401 without a session, 403 for a user who is not an admin; nothing is recorded")
    func authorization() async throws {
        let rig = try await ServerTestRig()
        try await RolloutFixtures.prepare(rig, ready: 1)
        let body = try String(decoding: APIJSON.encoder().encode(PolicySource(source: RolloutFixtures.updatePolicy())), as: UTF8.self)
        try await rig.test { client in
            let alice = try await client.login("alice")
            for (method, path) in Self.endpoints {
                let anonymous = try await client.call(method, path, raw: method == .get ? nil : body)
                #expect(anonymous.status == .unauthorized, "\(method) \(path) without a session")
                let user = try await client.call(method, path, alice.bearer, raw: method == .get ? nil : body)
                #expect(user.status == .forbidden, "\(method) \(path) as alice")
                #expect(user.body.errorCode == "forbidden")
            }
            #expect(try await rig.harness.store.rollouts(active: false, limit: 10).isEmpty)
        }
    }

    @Test("validate: the summary of a valid policy; a misspelt key is a 400 at file:line:column; other media types 415")
    func validate() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let root = try await client.login("root")
            let valid = try await client.call(.post, "/api/v1/admin/policies/validate", root.bearer,
                                              json: PolicySource(source: RolloutFixtures.updatePolicy(), file: "eng.yaml"))
            #expect(valid.status == .ok)
            let summary = try valid.body.decoded(PolicySummary.self)
            #expect(summary.name == "eng-update" && summary.kind == .update && summary.pools.pools == ["eng"])
            #expect(summary.description == "eng: newest tiny")

            let bad = try await client.call(.post, "/api/v1/admin/policies/validate", root.bearer,
                                            json: PolicySource(source: RolloutFixtures.misspelt, file: "eng.yaml"))
            #expect(bad.status == .badRequest && bad.body.errorCode == "invalidInput")
            let message = try bad.body.decoded(APIErrorBody.self).error.message
            #expect(message.contains(#/^eng\.yaml:\d+:\d+: .*versoin/#), "\(message)")

            let unknownKey = try await client.call(.post, "/api/v1/admin/policies/validate", root.bearer, raw: "{\"source\": \"x\", \"path\": \"y\"}")
            #expect(unknownKey.status == .badRequest)
            let missing = try await client.call(.post, "/api/v1/admin/policies/plan", root.bearer, raw: "{}")
            #expect(missing.status == .badRequest)
            for path in ["/api/v1/admin/policies/validate", "/api/v1/admin/policies/plan", "/api/v1/admin/rollouts"] {
                var headers = root.bearer
                headers[.contentType] = "text/yaml"
                let typed = try await client.call(.post, path, headers, raw: RolloutFixtures.updatePolicy())
                #expect(typed.status == .unsupportedMediaType && typed.body.errorCode == "unsupportedMediaType", "\(path)")
            }
        }
    }

    @Test("plan: every ready desktop of the pool, 1 -> 2, in waves (canary first); nothing changes")
    func plan() async throws {
        let rig = try await ServerTestRig()
        try await RolloutFixtures.prepare(rig, ready: 2)
        try await rig.test { client in
            let root = try await client.login("root")
            let answer = try await client.call(.post, "/api/v1/admin/policies/plan", root.bearer, json: PolicySource(source: RolloutFixtures.updatePolicy()))
            #expect(answer.status == .ok)
            let plan = try answer.body.decoded(PolicyPlan.self)
            let ready = try await rig.harness.desktops("eng", in: [.ready])
            #expect(plan.policy == "eng-update" && plan.kind == .update)
            #expect(Set(plan.desktops.map(\.desktopID)) == Set(ready.map(\.id)))
            #expect(plan.desktops.map(\.wave) == [0, 1])
            #expect(plan.desktops.allSatisfy { $0.from == "v1" && $0.to == "v2" && $0.method == .refresh && $0.skipped == nil })
            #expect(plan.waves == 2)
            #expect(plan.pools.map(\.pool) == ["eng"])
            #expect(try await rig.harness.store.rollouts(active: false, limit: 10).isEmpty)

            let nowhere = RolloutFixtures.updatePolicy().replacingOccurrences(of: "pools: [eng]", with: "pools: [nowhere]")
            #expect(try await client.call(.post, "/api/v1/admin/policies/plan", root.bearer, json: PolicySource(source: nowhere)).status == .notFound)
        }
    }

    @Test("apply: 201 and the rollout is listed and shown; pause, pause again 409, resume, cancel; unknown ids 404; bad active 400")
    func applyAndActions() async throws {
        let rig = try await ServerTestRig()
        try await RolloutFixtures.prepare(rig, ready: 2)
        try await rig.test { client in
            let root = try await client.login("root")
            let applied = try await client.call(.post, "/api/v1/admin/rollouts", root.bearer, json: PolicySource(source: RolloutFixtures.updatePolicy()))
            #expect(applied.status == .created)
            let view = try applied.body.decoded(RolloutView.self)
            let id = view.rollout.id
            #expect(view.rollout.state == .running && view.rollout.createdBy == "admin:root" && view.items.count == 2)
            #expect(view.counts["pending"] == 2 && view.counts["done"] == 0)
            #expect(view.rollout.pools.map(\.pool) == ["eng"] && view.rollout.pools.first?.toVersion == 2)

            let shown = try await client.call(.get, "/api/v1/admin/rollouts/\(id)", root.bearer)
            #expect(try shown.status == .ok && shown.body.decoded(RolloutView.self).rollout.id == id)
            let all = try await client.call(.get, "/api/v1/admin/rollouts", root.bearer).body.decoded([RolloutView].self)
            #expect(all.map(\.rollout.id) == [id])
            let active = try await client.call(.get, "/api/v1/admin/rollouts?active=true", root.bearer).body.decoded([RolloutView].self)
            #expect(active.map(\.rollout.id) == [id])
            let badActive = try await client.call(.get, "/api/v1/admin/rollouts?active=maybe", root.bearer)
            #expect(badActive.status == .badRequest && badActive.body.errorCode == "invalidInput")

            let again = try await client.call(.post, "/api/v1/admin/rollouts", root.bearer, json: PolicySource(source: RolloutFixtures.updatePolicy()))
            #expect(again.status == .conflict && again.body.errorCode == "conflict")

            let paused = try await client.call(.post, "/api/v1/admin/rollouts/\(id)/pause", root.bearer)
            #expect(try paused.status == .ok && paused.body.decoded(RolloutView.self).rollout.state == .paused)
            let pausedAgain = try await client.call(.post, "/api/v1/admin/rollouts/\(id)/pause", root.bearer)
            #expect(pausedAgain.status == .conflict && pausedAgain.body.errorCode == "conflict")
            #expect(pausedAgain.body.text.contains("paused"))
            let resumed = try await client.call(.post, "/api/v1/admin/rollouts/\(id)/resume", root.bearer)
            #expect(try resumed.status == .ok && resumed.body.decoded(RolloutView.self).rollout.state == .running)
            let cancelled = try await client.call(.post, "/api/v1/admin/rollouts/\(id)/cancel", root.bearer)
            #expect(try cancelled.status == .ok && cancelled.body.decoded(RolloutView.self).rollout.state == .cancelled)
            #expect(try await client.call(.post, "/api/v1/admin/rollouts/\(id)/resume", root.bearer).status == .conflict)
            #expect(try await client.call(.get, "/api/v1/admin/rollouts?active=true", root.bearer).body.decoded([RolloutView].self).isEmpty)
            #expect(try await rig.harness.store.auditLog(AuditQuery(action: "rollout.state")).contains { $0.actor == "admin:root" })

            let unknown = try await client.call(.get, "/api/v1/admin/rollouts/0000", root.bearer)
            #expect(unknown.status == .notFound && unknown.body.errorCode == "notFound")
            for path in ["/api/v1/admin/rollouts/%3Cx%3E", "/api/v1/admin/rollouts/\(String(repeating: "a", count: 200))"] {
                let malformed = try await client.call(.get, path, root.bearer)
                #expect(malformed.status == .badRequest && malformed.body.errorCode == "invalidInput", "\(path)")
            }
            for verb in ["pause", "resume", "cancel", "rollback"] {
                #expect(try await client.call(.post, "/api/v1/admin/rollouts/0000/\(verb)", root.bearer).status == .notFound, "\(verb)")
            }
        }
    }

    @Test("the answers have the keys and types the OpenAPI document gives RolloutView, PolicyPlan and PolicySummary")
    func answersMatchTheDocument() async throws {
        let rig = try await ServerTestRig()
        try await RolloutFixtures.prepare(rig, ready: 2)
        try await rig.test { client in
            let root = try await client.login("root")
            let schemas = try OpenAPIShape(document: try await client.call(.get, "/api/v1/openapi.json", root.bearer).body)
            let source = PolicySource(source: RolloutFixtures.updatePolicy())
            let summary = try await client.call(.post, "/api/v1/admin/policies/validate", root.bearer, json: source)
            #expect(schemas.problems(summary.body, schema: "PolicySummary").isEmpty, "\(schemas.problems(summary.body, schema: "PolicySummary"))")
            let plan = try await client.call(.post, "/api/v1/admin/policies/plan", root.bearer, json: source)
            #expect(schemas.problems(plan.body, schema: "PolicyPlan").isEmpty, "\(schemas.problems(plan.body, schema: "PolicyPlan"))")
            let applied = try await client.call(.post, "/api/v1/admin/rollouts", root.bearer, json: source)
            let id = try applied.body.decoded(RolloutView.self).rollout.id
            // Every optional field set, as a finished GuestCommand or check item would have it.
            let first = try #require(try await rig.harness.store.rolloutItems(rollout: id).first)
            _ = try await rig.harness.store.updateRolloutItem(rollout: id, desktop: first.desktopID, from: [.pending], actor: "test") {
                $0.status = .failed
                $0.detail = "exit 3"
                $0.startedAt = Date()
                $0.warnedAt = Date()
                $0.finishedAt = Date()
                $0.result = GuestCommandResult(exitCode: 3, stdout: "out", stderr: "err", truncated: true)
                $0.checks = [CheckOutcome(check: "motd", passed: false, evidence: "no /etc/motd")]
            }
            _ = try await client.call(.post, "/api/v1/admin/rollouts/\(id)/pause", root.bearer)
            let shown = try await client.call(.get, "/api/v1/admin/rollouts/\(id)", root.bearer)
            #expect(shown.body.text.contains("\"previousSpec\"") && shown.body.text.contains("\"reason\""))
            #expect(schemas.problems(shown.body, schema: "RolloutView").isEmpty, "\(schemas.problems(shown.body, schema: "RolloutView"))")
            let pool = try await client.call(.get, "/api/v1/admin/pools/eng", root.bearer)
            #expect(schemas.problems(pool.body, schema: "Pool").isEmpty, "\(schemas.problems(pool.body, schema: "Pool"))")
        }
    }
}

/// Checks a JSON answer against a schema of the OpenAPI document, as far as the document's
/// response schemas go: `$ref`, `type`, `required`, `properties` (no key it does not list
/// unless `additionalProperties` allows it), `enum`, `items`, `additionalProperties`.
struct OpenAPIShape {
    /// A JSON value as it was sent (JSONDecoder reads `true` only as a Bool, `1` only as a number).
    indirect enum JSON: Decodable {
        case object([String: JSON]), array([JSON]), string(String), bool(Bool), integer(Int), number(Double), null

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let v = try? c.decode(Bool.self) { self = .bool(v) }
            else if let v = try? c.decode(Int.self) { self = .integer(v) }
            else if let v = try? c.decode(Double.self) { self = .number(v) }
            else if let v = try? c.decode(String.self) { self = .string(v) }
            else if let v = try? c.decode([JSON].self) { self = .array(v) }
            else { self = .object(try c.decode([String: JSON].self)) }
        }

        var type: String {
            switch self {
            case .object: "object"
            case .array: "array"
            case .string: "string"
            case .bool: "boolean"
            case .integer: "integer"
            case .number: "number"
            case .null: "null"
            }
        }

        /// The value as the document's `enum` lists hold it (strings only are compared).
        var text: String? { if case .string(let s) = self { s } else { nil } }
    }

    let schemas: [String: JSON]

    init(document: Data) throws {
        guard case .object(let root) = try JSONDecoder().decode(JSON.self, from: document), case .object(let components)? = root["components"],
              case .object(let schemas)? = components["schemas"] else { throw RigError("the document has no components.schemas") }
        self.schemas = schemas
    }

    func problems(_ body: Data, schema name: String) -> [String] {
        guard let value = try? JSONDecoder().decode(JSON.self, from: body) else { return ["not JSON"] }
        return problems(value, .object(["$ref": .string("#/components/schemas/\(name)")]), at: name)
    }

    private func problems(_ value: JSON, _ schema: JSON, at path: String) -> [String] {
        guard case .object(let schema) = schema else { return [] }
        if let ref = schema["$ref"]?.text {
            guard let target = schemas[String(ref.split(separator: "/").last ?? "")] else { return ["\(path): no schema \(ref)"] }
            return problems(value, target, at: path)
        }
        var found: [String] = []
        var types: [String] = []
        switch schema["type"] {
        case .string(let type)?: types = [type]
        case .array(let list)?: types = list.compactMap(\.text)
        default: break
        }
        if !types.isEmpty, !types.contains(value.type), !(value.type == "integer" && types.contains("number")) {
            found.append("\(path): \(value.type), not \(types)")
        }
        if case .array(let allowed)? = schema["enum"], let text = value.text, !allowed.contains(where: { $0.text == text }) {
            found.append("\(path): \(text) not in the enum")
        }
        if case .object(let object) = value {
            if case .array(let required)? = schema["required"] {
                for key in required.compactMap(\.text) where object[key] == nil { found.append("\(path).\(key): missing") }
            }
            var properties: [String: JSON] = [:]
            if case .object(let listed)? = schema["properties"] { properties = listed }
            for (key, item) in object {
                if let property = properties[key] {
                    found += problems(item, property, at: "\(path).\(key)")
                } else if case .object(_)? = schema["additionalProperties"], let extra = schema["additionalProperties"] {
                    found += problems(item, extra, at: "\(path).\(key)")
                } else if !properties.isEmpty {
                    found.append("\(path).\(key): not in the document")
                }
            }
        }
        if case .array(let array) = value, let items = schema["items"] {
            for (index, item) in array.enumerated() { found += problems(item, items, at: "\(path)[\(index)]") }
        }
        return found
    }
}
