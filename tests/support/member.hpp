#pragma once

// Real local accounts for tenancy tests, and a process running as one of them.
//
// TestGroup / TestAccount: `groupadd` / `useradd` a system account (no home, nologin shell)
// for the test's lifetime; removed by name (`userdel`, `groupdel`) on destruction. Names
// carry the test process's pid so parallel test processes never share an account. Needs root.
//
// MemberProcess: a child forked from the test that switches to the account for good
// (initgroups + setgid + setuid, the way login does it) and stays alive, connecting to the
// daemon on request. Each connection's peer credentials are therefore that account's —
// uid, primary gid and the supplementary groups the daemon reads from /proc/<pid>/status —
// while the test drives the connection, passed back over SCM_RIGHTS.

#include <sys/types.h>

#include <string>

#include <nlohmann/json.hpp>

#include <squib/core/result.hpp>
#include <squib/proto/client.hpp>

namespace squib::test {

class TestGroup {
 public:
  explicit TestGroup(const std::string& stem);
  ~TestGroup();
  TestGroup(const TestGroup&) = delete;
  TestGroup& operator=(const TestGroup&) = delete;
  [[nodiscard]] const std::string& name() const { return m_name; }
  [[nodiscard]] gid_t gid() const { return m_gid; }

 private:
  std::string m_name;
  gid_t m_gid = 0;
};

class TestAccount {
 public:
  // A user with a group of its own, and `supplementary` (may be empty) as an extra group.
  TestAccount(const std::string& stem, const std::string& supplementary);
  ~TestAccount();
  TestAccount(const TestAccount&) = delete;
  TestAccount& operator=(const TestAccount&) = delete;
  [[nodiscard]] const std::string& name() const { return m_name; }
  [[nodiscard]] uid_t uid() const { return m_uid; }
  [[nodiscard]] gid_t gid() const { return m_gid; }

 private:
  std::string m_name;
  uid_t m_uid = 0;
  gid_t m_gid = 0;
};

class MemberProcess {
 public:
  explicit MemberProcess(const TestAccount& account);
  ~MemberProcess();
  MemberProcess(const MemberProcess&) = delete;
  MemberProcess& operator=(const MemberProcess&) = delete;

  // A control connection made by the member process (its credentials), or why not.
  core::Result<proto::ControlClient> connect(const std::string& control_path);
  [[nodiscard]] pid_t pid() const { return m_pid; }

 private:
  pid_t m_pid = -1;
  int m_channel = -1;  // our end of the socketpair to the member process
};

// Runs a command line through /bin/sh as `account` (setpriv, with its groups); returns the
// exit code and fills `output` with stdout and stderr.
int run_as_account(const TestAccount& account, const std::string& command, std::string& output);

// One request on a member's control connection: the response (REQUIREs that the request
// got one), or its result (REQUIREs success; the failure's message is in the report).
proto::Response call(proto::ControlClient& client, const std::string& method,
                     const nlohmann::json& params = nlohmann::json::object());
nlohmann::json ok(proto::ControlClient& client, const std::string& method,
                  const nlohmann::json& params = nlohmann::json::object());

}  // namespace squib::test
