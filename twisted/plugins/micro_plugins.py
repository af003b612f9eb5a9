from twisted.application.service import ServiceMaker

micro_registry = ServiceMaker("micro registry", "micro._registry_tap", "Run the micro service registry.", "micro-registry")
micro_service = ServiceMaker("micro service", "micro._service_tap", "Host the @micro.service functions of a module.", "micro-service")
