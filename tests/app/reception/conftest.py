from tests.connectors.conftest import add_channel, wechat, wechat_server  # noqa: F401
