import DockwardCore
import DockwardSystem
import FoundationEssentials
import Glibc

/// dockward's own container when `/proc/self/cgroup` cannot name it: in a
/// private cgroup namespace (containerd's under Kubernetes on cgroup v2,
/// Docker's default there) it reads `0::/`. The host's cgroup tree, which
/// dockward has mounted to watch, still holds its cgroup; the kernel lists
/// each cgroup's processes in `cgroup.procs` by their ids in the reader's
/// own PID namespace, and a process outside it as 0 (v2) or not at all
/// (v1). So the one container cgroup that lists dockward's own pid is its
/// own, whatever PID namespace it runs in: another container can show that
/// number only for a process of dockward's namespace. Nothing anyone can
/// give a container (name, image, label) enters into it.
public enum OwnContainerSearch {
    /// Folders visited at most (a node's tree has a few thousand).
    public static let budget = 50_000

    /// The container (named by `names`) whose cgroup, or a folder inside
    /// it, lists `pid` in `cgroup.procs`, searched under `hierarchyRoot`;
    /// nil when none does (or the tree is unreadable).
    public static func find(pid: Int32, hierarchyRoot: String, names: CgroupNames,
                            budget: Int = OwnContainerSearch.budget) -> OwnContainer? {
        let wanted = String(pid)
        var visited = 0
        // (folder, its path below the root, the innermost container above or at it)
        var pending: [(String, String, ContainerID?)] = [(hierarchyRoot, "", nil)]
        var found: OwnContainer?
        while visited < budget, let next = pending.popLast() {
            let (folder, relative, enclosing) = next
            visited += 1
            if let enclosing, lists(folder + "/cgroup.procs", wanted) {
                // The innermost match wins: a nested container's folder is deeper.
                if found == nil || relative.count > found!.cgroupPath.count {
                    found = OwnContainer(id: enclosing, cgroupPath: relative)
                }
            }
            _ = Directory.forEachEntry(in: folder) { entry in
                guard !entry.isSelfOrParent, entry.isDirectoryOrUnknown else { return true }
                let path = folder + "/" + entry.name
                var st = stat()
                guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return true }
                let id = names.containerID(inName: entry.name, inParent: nil) ?? enclosing
                pending.append((path, relative + "/" + entry.name, id))
                return true
            }
        }
        return found
    }

    private static func lists(_ procs: String, _ pid: String) -> Bool {
        guard let text = try? String(contentsOfFile: procs, encoding: .utf8) else { return false }
        return text.split(separator: "\n").contains { $0 == pid }
    }
}
