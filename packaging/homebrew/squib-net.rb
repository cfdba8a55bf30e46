# Homebrew formula for squib-netd (for a tap, e.g. `brew tap squib/tap`; not in homebrew-core).
#
# Why there is no `service do` block, unlike homebrew-core's socket_vmnet formula (whose
# service has `require_root true`, started with `sudo brew services start socket_vmnet`):
# squib-netd runs as root, and a root job must execute only files that no user can change.
# Everything Homebrew installs belongs to the user who installed Homebrew — /opt/homebrew on
# Apple silicon, /usr/local (bin, Cellar) on Intel — so a launchd job running
# #{opt_bin}/squib-netd as root would let that user, or anything running as them, replace
# what root runs without a password. socket_vmnet's formula is keg_only for this reason
# ("Homebrew's bin directory is often writable by a non-admin user") and Lima's docs ask for a
# copy in /opt/socket_vmnet all the same. So this formula builds and installs the programs
# into the keg, and the caveats tell the user to run the installer that copies them into the
# root-owned /opt/squib-net, installs the launchd job and starts it (scripts/install-macos,
# installed as share/squib-netd/install-macos). `brew upgrade` therefore does not upgrade
# the running daemon: the caveats say to run the installer again, which waits for the old
# daemon to exit and starts the new one.
#
# Never built by this project yet (docs/macos.md, "What only a Mac can confirm"); checked
# with `ruby -c` on Linux.
class SquibNet < Formula
  desc "Host networking daemon for microVMs (vmnet.framework, gvproxy)"
  # Placeholders until the first release (the repository has no public home or license file
  # yet): OWNER, the tag, sha256 (`brew fetch --build-from-source ./squib-net.rb` prints it),
  # and a `license` line, which `brew audit` requires.
  homepage "https://github.com/OWNER/squib-netd"
  url "https://github.com/OWNER/squib-netd/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  head "https://github.com/OWNER/squib-netd.git", branch: "main"

  depends_on "cli11" => :build # header-only
  depends_on "cmake" => :build
  depends_on "ninja" => :build
  depends_on "nlohmann-json" => :build # header-only
  depends_on "pkgconf" => :build
  depends_on "libuv"
  depends_on :macos
  depends_on "spdlog"

  def install
    # The tests (Catch2 v2 or v3) need root and vmnet; CI runs them (.github/workflows/macos.yml).
    system "cmake", "-S", ".", "-B", "build", "-G", "Ninja", "-DSQUIB_BUILD_TESTS=OFF", *std_cmake_args
    system "cmake", "--build", "build"
    # bin/: squib-netd, squib-netctl, squib-child-exec. share/squib-netd/: the launchd plist
    # template, install-macos and uninstall-macos (CMakeLists.txt, if(APPLE)).
    system "cmake", "--install", "build"
  end

  def caveats
    <<~EOS
      squib-netd runs as root under launchd, so it must not run from Homebrew's prefix,
      which your user can write. Copy it into the root-owned /opt/squib-net and start it:
        sudo #{opt_share}/squib-netd/install-macos --from-prefix #{opt_prefix}
      Run the same command after `brew upgrade squib-net` to upgrade the running daemon.
      It also copies gvproxy, if found, into /opt/squib-net/libexec (GVPROXY=PATH picks one).
      To remove the daemon: sudo /opt/squib-net/share/squib-netd/uninstall-macos
      squib-netctl (#{opt_bin}/squib-netctl) talks to it as any member of group staff.
    EOS
  end

  test do
    assert_match "--run-dir", shell_output("#{bin}/squib-netd --help")
    # Exit code 3: the daemon cannot be reached (docs/operations.md).
    shell_output("#{bin}/squib-netctl --control #{testpath}/absent.sock status", 3)
    assert_path_exists share/"squib-netd/com.squib.netd.plist"
    assert_match "--print-plist", shell_output("#{share}/squib-netd/install-macos --help")
  end
end
