import Foundation

/// Admin actions on templates, versions and pools, with every check made before anything
/// changes: a pool naming an unknown template, version or host is refused with the field, and
/// a failed publish leaves no version and no volume behind.
public struct Administration: Sendable {
    let store: any Store
    let hypervisors: [String: any Hypervisor]
    let hostNames: Set<String>
    let secrets: Set<String>?
    /// Where images may come from and their limits (`images:`).
    public let images: ImageImportConfiguration
    /// What templates' domain XML may hold (with the host's `templates.allowedExtras`).
    public let templatePolicy: DomainXMLPolicy

    /// - Parameter hostNames: the configured hosts, when not all of them are connected
    ///   (pool changes need only their names); default: the hypervisors' hosts.
    /// - Parameter secrets: the names of deskpool.yaml's `secrets:` a pool's identity may use
    ///   (nil: not checked, e.g. `deskpool local` without the broker's configuration).
    public init(store: any Store, hypervisors: [any Hypervisor], hostNames: [String]? = nil, images: ImageImportConfiguration = ImageImportConfiguration(),
                templatePolicy: DomainXMLPolicy = DomainXMLPolicy(), secrets: Set<String>? = nil) {
        self.secrets = secrets
        self.images = images
        self.templatePolicy = templatePolicy
        self.store = store
        self.hypervisors = Hosts(hypervisors).byName
        self.hostNames = Set(hostNames ?? hypervisors.map(\.host))
    }

    public func applyTemplate(_ template: TemplateDefinition, actor: String) async throws(DeskpoolError) {
        try await auditingRefusal("template.put", subject: "template/\(template.name)", actor: actor) { () async throws(DeskpoolError) in
        guard DeskpoolConfiguration.isSafeName(template.name) else {
            throw DeskpoolError(.invalidInput, "must be letters, digits, '.', '_' or '-' (at most 64)", field: "name")
        }
        // An admin is not root on the hosts: nothing in the pattern may reach them. (First:
        // it refuses a DTD before anything parses the text.)
        try templatePolicy.check(template.domainXML)
        guard template.hasWellFormedDomainXML else {
            throw DeskpoolError(.invalidInput, "the domain XML pattern must be well-formed XML with a <domain> root element", field: "domain")
        }
        try await store.putTemplate(template, actor: actor)
        }
    }

    /// Publishes the next version of a template: imports the image as a read-only base
    /// volume on every host, then marks the version published. On any failure the volumes
    /// imported so far and the version record are removed, and the error is rethrown.
    public func publishVersion(template: String, from source: ImageSource, note: String, actor: String) async throws(DeskpoolError) -> TemplateVersion {
        try await auditingRefusal("template.version.publish", subject: "template/\(template)", actor: actor) { () async throws(DeskpoolError) in
        guard try await store.template(named: template) != nil else {
            throw DeskpoolError(.notFound, "no template named \(template)", field: "template")
        }
        guard note.count <= 500, !note.contains(where: { $0.isNewline || ($0.asciiValue.map { $0 < 32 } ?? false) }) else {
            throw DeskpoolError(.invalidInput, "must be one line of at most 500 characters", field: "note")
        }
        let version = try await store.beginVersion(template: template, note: note, actor: actor)
        var imported: [any Hypervisor] = []
        do throws(DeskpoolError) {
            for hypervisor in hypervisors.values.sorted(by: { $0.host < $1.host }) {
                try await hypervisor.importBaseVolume(named: version.volume, from: source, limits: images)
                imported.append(hypervisor)
            }
            try await store.publishVersion(template: template, number: version.number, actor: actor)
        } catch {
            for hypervisor in imported { try? await hypervisor.deleteVolume(named: version.volume) }
            try? await store.deleteVersion(template: template, number: version.number, actor: actor)
            throw error
        }
        var published = version
        published.published = true
        return published
        }
    }

    /// Removes what imports cut short by a crash left: every unpublished ("importing") version
    /// record and its base volume on every host. Run at start, before anything imports.
    /// Returns the versions removed, as `template/number`.
    @discardableResult
    public func removeUnfinishedImports(actor: String) async throws(DeskpoolError) -> [String] {
        var removed: [String] = []
        for template in try await store.templates() {
            for version in try await store.versions(template: template.name) where !version.published {
                for hypervisor in hypervisors.values { try await hypervisor.deleteVolume(named: version.volume) }
                try await store.deleteVersion(template: template.name, number: version.number, actor: actor)
                removed.append("\(template.name)/\(version.number)")
            }
        }
        return removed
    }

    /// Deletes a version no desktop uses and no pool pins, with its base volumes.
    public func deleteVersion(template: String, number: Int, actor: String) async throws(DeskpoolError) {
        try await auditingRefusal("template.version.delete", subject: "template/\(template)/\(number)", actor: actor) { () async throws(DeskpoolError) in
        guard let version = try await store.versions(template: template).first(where: { $0.number == number }) else {
            throw DeskpoolError(.notFound, "template \(template) has no version \(number)", field: "version")
        }
        try await store.deleteVersion(template: template, number: number, actor: actor)
        for hypervisor in hypervisors.values { try await hypervisor.deleteVolume(named: version.volume) }
        }
    }

    /// Creates or changes a pool after checking its template, version and hosts exist.
    @discardableResult
    public func applyPool(_ spec: PoolSpec, actor: String) async throws(DeskpoolError) -> PoolSpec {
        try await auditingRefusal("pool.put", subject: "pool/\(spec.name)", actor: actor) { () async throws(DeskpoolError) in
        try spec.validate()
        try spec.identity?.validate(secrets: secrets)
        guard try await store.template(named: spec.template) != nil else {
            throw DeskpoolError(.notFound, "no template named \(spec.template)", field: "template")
        }
        if case .pinned = spec.version, case .failure(let error) = spec.currentVersion(among: try await store.versions(template: spec.template)) {
            throw error
        }
        if let unknown = spec.hosts.first(where: { !hostNames.contains($0) }) {
            throw DeskpoolError(.notFound, "no host named \(unknown) (hosts: \(hostNames.sorted().joined(separator: ", ")))", field: "hosts")
        }
        return try await store.putPool(spec, actor: actor)
        }
    }

    /// Runs an admin action; a refusal or failure is written to the audit log (who, what,
    /// the error) before it is rethrown. Successes are audited by the store with the change.
    private func auditingRefusal<T: Sendable>(_ action: String, subject: String, actor: String,
                                              _ body: () async throws(DeskpoolError) -> T) async throws(DeskpoolError) -> T {
        do throws(DeskpoolError) {
            return try await body()
        } catch {
            try? await store.audit(AuditEntry(at: Date(), actor: actor, action: action, subject: subject, result: "error: \(error.code)", detail: error.description))
            throw error
        }
    }
}

extension Administration {
    /// Marks a pool for deletion (`draining`): it takes no new sessions and shrinks to nothing.
    public func drainPool(named name: String, actor: String) async throws(DeskpoolError) -> PoolSpec {
        try await store.drainPool(named: name, actor: actor)
    }
}
