import shlex

import pytest

from lab.errors import LabError
from lab.providers import PROVIDERS, get_provider
from lab.providers.base import Provider
from lab.providers.vagrant import remote_command


def test_unknown_provider_says_which_exist():
    with pytest.raises(LabError) as error:
        get_provider("docker")
    assert error.value.fix == "use one of: netns, vagrant (e.g. --lab=netns)"


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_every_registered_provider_loads_and_keeps_the_contract(name):
    provider = get_provider(name)
    assert isinstance(provider, Provider) and provider.name == name


def test_vagrant_remote_command_keeps_words_and_environment_intact():
    line = remote_command("echo \"$LAB_VIP\" 'a b'", {"LAB_VIP": "192.168.0.105", "LAB_RECEIVE": "Test Page"})
    assert shlex.split(line) == ["sudo", "env", "LAB_VIP=192.168.0.105", "LAB_RECEIVE=Test Page", "/bin/sh", "-c",
                                 "echo \"$LAB_VIP\" 'a b'"]
