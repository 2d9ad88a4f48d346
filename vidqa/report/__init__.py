"""vidqa.report"""
