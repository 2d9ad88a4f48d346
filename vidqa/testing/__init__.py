"""vidqa.testing"""
