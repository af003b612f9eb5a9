from twisted.application.service import ServiceMaker

micro_registry = ServiceMaker("micro registry", "micro._twistd.registry_tap", "Run the micro service registry.", "micro-registry")
micro_service = ServiceMaker("micro service", "micro._twistd.service_tap", "Host the @micro.service functions of a module.", "micro-service")
