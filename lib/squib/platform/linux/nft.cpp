#include <squib/platform/linux/nft.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <sstream>

#include <squib/core/fd.hpp>
#include <squib/uv/program_run.hpp>

extern char** environ;

namespace squib::platform {

using core::Error;
using core::Result;

std::string network_ruleset(const NetworkRules& rules) {
  const std::string table = "inet " + rules.table;
  const std::string bridge = "\"" + rules.bridge + "\"";
  const std::string subnet = rules.subnet.to_string();
  std::ostringstream out;
  // Declare, delete, recreate: one transaction, so the table is replaced atomically even if
  // a stale one exists.
  out << "table " << table << "\n"
      << "delete table " << table << "\n"
      << "table " << table << " {\n"
      << "  chain forward {\n"
      << "    type filter hook forward priority filter; policy accept;\n"
      << "    iifname " << bridge << " oifname " << bridge << " accept\n";
  if (rules.masquerade) {
    out << "    iifname " << bridge << " ip saddr " << subnet << " accept\n"
        << "    oifname " << bridge << " ip daddr " << subnet << " ct state established,related accept\n";
  }
  const std::string subnet6 = rules.subnet6 ? rules.subnet6->to_string() : std::string();
  const bool masquerade6 = rules.subnet6 && rules.masquerade6;
  if (masquerade6) {
    out << "    iifname " << bridge << " ip6 saddr " << subnet6 << " accept\n"
        << "    oifname " << bridge << " ip6 daddr " << subnet6 << " ct state established,related accept\n";
  }
  out << "    iifname " << bridge << " drop\n"
      << "    oifname " << bridge << " drop\n"
      << "  }\n";
  if (rules.masquerade || masquerade6) {
    out << "  chain postrouting {\n"
        << "    type nat hook postrouting priority srcnat; policy accept;\n";
    if (rules.masquerade) {
      out << "    ip saddr " << subnet << " ip daddr != " << subnet << " oifname != " << bridge << " masquerade\n";
    }
    if (masquerade6) {
      out << "    ip6 saddr " << subnet6 << " ip6 daddr != " << subnet6 << " oifname != " << bridge << " masquerade\n";
    }
    out << "  }\n";
  }
  out << "}\n";
  return out.str();
}

std::string delete_table_script(const std::string& table) {
  return "table inet " + table + "\ndelete table inet " + table + "\n";
}

std::vector<std::string> our_tables(const std::string& list_output) {
  std::vector<std::string> tables;
  std::istringstream in(list_output);
  std::string word_table;
  std::string family;
  std::string name;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    if (!(words >> word_table >> family >> name) || word_table != "table" || family != "inet") continue;
    if (name.starts_with(k_table_prefix)) tables.push_back(name);
  }
  return tables;
}

namespace {

std::string nft_program() {
  for (const char* candidate : {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  return "nft";  // PATH lookup by posix_spawnp
}

}  // namespace

Result<std::string> run_nft(const std::vector<std::string>& args, const std::string& input) {
  int in_pipe[2];
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return Error::from_errno("pipe");
  core::Fd in_read(in_pipe[0]), in_write(in_pipe[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Error::from_errno("pipe");
  core::Fd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Error::from_errno("pipe");
  core::Fd err_read(err_pipe[0]), err_write(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  // The child must not inherit the daemon's blocked/ignored signals (SIGPIPE is ignored).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  const std::string program = nft_program();
  std::vector<std::string> storage{"nft"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, program.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spawned != 0) return Error::from_errno("spawn nft", spawned);
  in_read.reset();
  out_write.reset();
  err_write.reset();

  // Scripts are a few hundred bytes, far below the pipe buffer: one write, then EOF.
  if (!input.empty() && ::write(in_write.get(), input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
    // nft exits and reports below; keep going to reap it.
  }
  in_write.reset();

  std::string out;
  std::string err;
  const auto deadline = std::chrono::steady_clock::now() + k_nft_timeout;
  std::array<char, 4096> buffer{};
  bool timed_out = false;
  while (out_read || err_read) {
    std::array<pollfd, 2> fds{pollfd{out_read.get(), POLLIN, 0}, pollfd{err_read.get(), POLLIN, 0}};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
      if (n > 0) {
        (i == 0 ? out : err).append(buffer.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        (i == 0 ? out_read : err_read).reset();
      }
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return Error{ETIMEDOUT, "nft timed out"};
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!err.empty() && err.back() == '\n') err.pop_back();
    return Error{EIO, "nft " + (args.empty() ? std::string() : args.front()) + " failed: " + err};
  }
  return out;
}

void run_nft_async(uv_loop_t* loop, std::vector<std::string> args, std::string input,
                   std::function<void(core::Result<std::string>)> done) {
  uv::ProgramRun run;
  run.program = nft_program();
  run.args = std::move(args);
  run.input = std::move(input);
  run.timeout = k_nft_timeout;
  uv::run_program(loop, std::move(run), std::move(done));
}

}  // namespace squib::platform
