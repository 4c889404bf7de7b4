"""convene.v1: generated messages (``*_pb2``) and service stubs (``*_pb2_grpc``). Do not edit them."""
