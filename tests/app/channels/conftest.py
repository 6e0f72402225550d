from tests.connectors.conftest import (add_channel, aliyun, aliyun_server, bridge_receiver,  # noqa: F401
                                       bridge_server, clock, wechat, wechat_server)
