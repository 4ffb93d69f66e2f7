#include <dlfcn.h>
#include <gtest/gtest.h>

#include "hawx/framework/plugin_manager.hpp"
#include "test_util.hpp"

using hawx::Error;
using hawx::Kind;
using hawx::PluginManager;
using hawx::test::fixture;

namespace {

std::string load_error(const std::string& name) {
    PluginManager pm({fixture(name)});
    try {
        pm.load(name);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

std::string so(const std::string& name) { return fixture(name) + "/hawx_" + name + ".so"; }

TEST(PluginLoad, WrongAbiVersionNamesFileAndVersions) {
    EXPECT_EQ(load_error("badabi"), so("badabi") +
                                        ": plugin ABI version 999 is not supported (supported: 7); rebuild it against this SDK");
}

TEST(PluginLoad, BuildIdMismatchShowsBoth) {
    const std::string e = load_error("badbuild");
    EXPECT_EQ(e.rfind(so("badbuild") + ": build id mismatch: plugin built with 'gcc-4.8.5;libstdcxx-cxx11abi=0;torch=1.4.0;sdk=0', core is '", 0), 0u) << e;
    EXPECT_NE(e.find(hawx::core_build_id()), std::string::npos);
}

TEST(PluginLoad, MissingEntryPoint) {
    EXPECT_EQ(load_error("noentry"),
              so("noentry") + ": not a HAWX plugin: entry point 'hawx_plugin_entry' missing (declare it with HAWX_PLUGIN)");
}

TEST(PluginLoad, RegistrationThrows) {
    EXPECT_EQ(load_error("throws"), so("throws") + ": plugin registration failed: cannot find my calibration data");
}

TEST(PluginLoad, DuplicateComponentName) {
    EXPECT_EQ(load_error("duplicate"), so("duplicate") + ": duplicate component name 'twice' in library 'duplicate'");
}

TEST(PluginLoad, InvalidParameterSchema) {
    EXPECT_EQ(load_error("badparam"),
              so("badparam") + ": component 'bad_default' parameter 'k' has a default outside its range");
}

TEST(PluginLoad, LibraryNameMustMatchFile) {
    EXPECT_EQ(load_error("misnamed"),
              so("misnamed") + ": plugin declares library name 'other' but the file is named for 'misnamed'");
}

TEST(PluginLoad, UnloadableLibraryGivesLoaderReason) {
    const std::string e = load_error("unloadable");
    EXPECT_EQ(e.rfind("plugin library 'unloadable' could not be loaded: " + so("unloadable") + ": cannot load plugin library: ", 0), 0u) << e;
    EXPECT_NE(e.find("undefined symbol: hawx_fixture_function_that_does_not_exist"), std::string::npos) << e;
}

TEST(PluginLoad, UnloadableFailuresAreCollectedAcrossPaths) {
    hawx::test::TempDir dir;
    dir.file("hawx_unloadable.so", "this is not an ELF file\n");
    PluginManager pm({dir.str(), fixture("unloadable")});
    try {
        pm.load("unloadable");
        FAIL() << "no error";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find(dir.str() + "/hawx_unloadable.so: cannot load plugin library: "), std::string::npos) << m;
        EXPECT_NE(m.find(so("unloadable") + ": cannot load plugin library: "), std::string::npos) << m;
    }
}

TEST(PluginLoad, ShadowedBrokenFileFallsBackToGoodOne) {
    hawx::test::TempDir dir;
    dir.file("hawx_good.so", "garbage");
    PluginManager pm({dir.str(), fixture("good")});
    EXPECT_EQ(pm.load("good").version, "3.0.0");
}

TEST(PluginLoad, NotFoundListsSearchPath) {
    PluginManager pm({"/nonexistent/a", "/nonexistent/b"});
    try {
        pm.load("nothere");
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "plugin library 'nothere' not found (no hawx_nothere.so in /nonexistent/a, /nonexistent/b)");
    }
}

TEST(Registry, FindsComponentsAndChecksKind) {
    PluginManager pm({fixture("good")});
    const auto& e = pm.find("good.scaled_mul", Kind::Block);
    EXPECT_EQ(e.info.version, "2.1");
    EXPECT_EQ(e.library->version, "3.0.0");
    EXPECT_EQ(e.library->build_id, hawx::core_build_id());
    try {
        pm.find("good.scaled_mul", Kind::Metric);
        FAIL();
    } catch (const Error& err) {
        EXPECT_STREQ(err.what(), "component 'good.scaled_mul' is a block, not a metric");
    }
    try {
        pm.find("good.nope", Kind::Block);
        FAIL();
    } catch (const Error& err) {
        EXPECT_EQ(std::string(err.what()), "unknown component 'good.nope': library 'good' (" + so("good") +
                                               ") offers needs_path (block), scaled_mul (block)");
    }
    EXPECT_THROW(pm.find("noDot", Kind::Block), Error);
    EXPECT_THROW(pm.find("a.b.c", Kind::Block), Error);
}

class Params : public ::testing::Test {
protected:
    PluginManager pm{{fixture("good")}};
    const hawx::ComponentEntry& e = pm.find("good.scaled_mul", Kind::Block);
    std::string err(const nlohmann::json& j) {
        try {
            pm.resolve_params(e, j, "m.json: blocks[0] (S)", "/base");
        } catch (const Error& ex) {
            return ex.what();
        }
        return "(no error)";
    }
};

TEST_F(Params, DefaultsAreFilled) {
    const hawx::Params p = pm.resolve_params(e, nlohmann::json::object(), "", "");
    EXPECT_EQ(p.get_int("offset"), 0);
    EXPECT_DOUBLE_EQ(p.get_float("power_mw"), 0.5);
    EXPECT_TRUE(p.get_bool("signed"));
    EXPECT_EQ(p.get_string("flavour"), "plain");
}

TEST_F(Params, UnknownKeyListsValidKeys) {
    EXPECT_EQ(err({{"ofset", 3}}),
              "m.json: blocks[0] (S): unknown parameter 'ofset' for good.scaled_mul (valid: flavour, note, offset, power_mw, signed)");
}

TEST_F(Params, WrongTypes) {
    EXPECT_EQ(err({{"offset", "3"}}), "m.json: blocks[0] (S): parameter 'offset' of good.scaled_mul must be an int, got \"3\"");
    EXPECT_EQ(err({{"offset", 2.5}}), "m.json: blocks[0] (S): parameter 'offset' of good.scaled_mul must be an int, got 2.5");
    EXPECT_EQ(err({{"signed", 1}}), "m.json: blocks[0] (S): parameter 'signed' of good.scaled_mul must be a bool, got 1");
    EXPECT_EQ(err({{"flavour", 3}}), "m.json: blocks[0] (S): parameter 'flavour' of good.scaled_mul must be a string, got 3");
}

TEST_F(Params, IntAcceptedAsFloat) {
    const hawx::Params p = pm.resolve_params(e, {{"power_mw", 2}}, "", "");
    EXPECT_DOUBLE_EQ(p.get_float("power_mw"), 2.0);
}

TEST_F(Params, RangeAndChoices) {
    EXPECT_EQ(err({{"offset", 101}}), "m.json: blocks[0] (S): parameter 'offset' of good.scaled_mul = 101 is out of range [-100, 100]");
    EXPECT_EQ(err({{"power_mw", -0.1}}), "m.json: blocks[0] (S): parameter 'power_mw' of good.scaled_mul = -0.1 is out of range [0, inf]");
    EXPECT_EQ(err({{"flavour", "spicy"}}), "m.json: blocks[0] (S): parameter 'flavour' of good.scaled_mul = \"spicy\" must be one of: plain, fancy");
}

TEST_F(Params, ParamsMustBeObject) {
    EXPECT_EQ(err(nlohmann::json::array()), "m.json: blocks[0] (S): 'params' of good.scaled_mul must be a JSON object, got array");
}

TEST_F(Params, RequiredParameter) {
    const auto& np = pm.find("good.needs_path", Kind::Block);
    try {
        pm.resolve_params(np, nlohmann::json::object(), "ctx", "");
        FAIL();
    } catch (const Error& ex) {
        EXPECT_STREQ(ex.what(), "ctx: missing required parameter 'path' for good.needs_path (required path)");
    }
    const hawx::Params p = pm.resolve_params(np, {{"path", "t/x.bin"}}, "ctx", "/base/dir");
    EXPECT_EQ(p.get_string("path"), "/base/dir/t/x.bin");
    EXPECT_EQ(pm.resolve_params(np, {{"path", "/abs/x.bin"}}, "ctx", "/base").get_string("path"), "/abs/x.bin");
}

TEST_F(Params, FactoryErrorsAreOneLineWithContext) {
    const hawx::Params p = pm.resolve_params(e, {{"flavour", "fancy"}}, "", "");
    try {
        pm.create<hawx::ApproxBlock>(e, p, "m.json: blocks[0] (S)");
        FAIL();
    } catch (const Error& ex) {
        EXPECT_STREQ(ex.what(), "m.json: blocks[0] (S): good.scaled_mul: flavour 'fancy' needs a non-zero offset");
    }
}

bool library_loaded(const std::string& path) {
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (h == nullptr) return false;
    ::dlclose(h);
    return true;
}

TEST(Lifetime, ObjectKeepsItsLibraryLoaded) {
    std::shared_ptr<hawx::ApproxBlock> block;
    {
        PluginManager pm({fixture("good")});
        const auto& e = pm.find("good.scaled_mul", Kind::Block);
        block = pm.create<hawx::ApproxBlock>(e, pm.resolve_params(e, {{"offset", 7}}, "", ""), "");
    }
    // The manager (and its handle on the library) is gone; the object's code must still be there.
    ASSERT_TRUE(library_loaded(so("good")));
    EXPECT_EQ(block->apply(-3, 5), -8);
    EXPECT_EQ(block->cost().source, "fixture");
    block.reset();
    EXPECT_FALSE(library_loaded(so("good")));
}

TEST(Discovery, ListsOnlyHawxLibrariesFirstOccurrenceWins) {
    hawx::test::TempDir dir;
    dir.file("hawx_good.so", "shadowing file");
    dir.file("libother.so", "not a hawx plugin name");
    PluginManager pm({dir.str(), fixture("good"), fixture("throws")});
    const auto found = pm.discover();
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[0].first, "good");
    EXPECT_EQ(found[0].second, dir.str() + "/hawx_good.so");
    EXPECT_EQ(found[1].first, "throws");
}

TEST(Schema, JsonDescribesEveryParameter) {
    PluginManager pm({fixture("good")});
    const nlohmann::json j = hawx::to_json(pm.find("good.scaled_mul", Kind::Block));
    EXPECT_EQ(j["name"], "good.scaled_mul");
    EXPECT_EQ(j["kind"], "block");
    ASSERT_EQ(j["params"].size(), 5u);
    EXPECT_EQ(j["params"][0]["name"], "offset");
    EXPECT_EQ(j["params"][0]["type"], "int");
    EXPECT_EQ(j["params"][0]["default"], 0);
    EXPECT_EQ(j["params"][0]["min"], -100.0);
    EXPECT_EQ(j["params"][3]["choices"], nlohmann::json({"plain", "fancy"}));
    EXPECT_EQ(pm.find("good.needs_path", Kind::Block).info.params[0].required(), true);
}

}  // namespace
