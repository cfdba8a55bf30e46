// Tests of squib/proto/table.hpp: squib-netctl's column layout, byte for byte.

#include <squib/proto/table.hpp>

#include "support/catch.hpp"

using squib::proto::Table;

TEST_CASE("Table renders left-aligned columns two spaces apart", "[proto][table]") {
  SECTION("headers only") {
    CHECK(Table({"NAME", "MODE"}).render() == "NAME  MODE\n");
  }
  SECTION("each column as wide as its widest cell; the last column is not padded") {
    Table table({"NAME", "MODE", "MTU"});
    table.add({"vm1", "shared", "1500"});
    table.add({"a-longer-name", "host", "9000"});
    CHECK(table.render() ==
          "NAME           MODE    MTU\n"
          "vm1            shared  1500\n"
          "a-longer-name  host    9000\n");
  }
  SECTION("trailing blanks are trimmed when the last cells are empty") {
    Table table({"NAME", "PEER"});
    table.add({"vm1", ""});
    CHECK(table.render() == "NAME  PEER\nvm1\n");
  }
  SECTION("rows shorter or longer than the header") {
    Table table({"A", "B"});
    table.add({"x"});
    table.add({"1", "22", "333"});
    CHECK(table.render() == "A  B\nx\n1  22  333\n");
  }
  SECTION("an empty header row renders an empty line") {
    CHECK(Table({}).render() == "\n");
  }
}
